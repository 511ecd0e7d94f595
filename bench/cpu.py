"""CPU time of the service, of PostgreSQL, of wrk and of the rest of the machine.

CPU time per request varies far less than throughput when other programs
share the cores, so each phase records both. Times come from ``/proc``: a
process's own user and system time, the time of the children it has waited
for (gunicorn's arbiter reaps recycled workers, the postmaster reaps its
backends) and the time of its live children.
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may contain spaces.
    return text.rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def process_tree_seconds(pid: int) -> float:
    """Return the CPU seconds of a process, its reaped children and live ones."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    # After the command name, indices 11 to 14 are utime, stime, cutime and
    # cstime (fields 14 to 17 in proc(5)), in clock ticks.
    ticks = sum(int(value) for value in fields[11:15])
    seconds = ticks / TICKS_PER_SECOND
    return seconds + sum(process_tree_seconds(child) for child in _children(pid))


def machine_seconds() -> tuple[float, float]:
    """Return the machine's busy and total CPU seconds since boot, all cores."""
    values = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy / TICKS_PER_SECOND, (busy + idle + iowait) / TICKS_PER_SECOND


def reaped_children_seconds() -> float:
    """Return the CPU seconds of this process's children that have exited."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of each part, cumulative or, after subtraction, over a phase."""

    service: float
    postgres: float
    load_generator: float
    machine_busy: float
    machine_total: float

    def __sub__(self, other: "CpuSample") -> "CpuSample":
        return CpuSample(
            self.service - other.service,
            self.postgres - other.postgres,
            self.load_generator - other.load_generator,
            self.machine_busy - other.machine_busy,
            self.machine_total - other.machine_total,
        )

    def __add__(self, other: "CpuSample") -> "CpuSample":
        return CpuSample(
            self.service + other.service,
            self.postgres + other.postgres,
            self.load_generator + other.load_generator,
            self.machine_busy + other.machine_busy,
            self.machine_total + other.machine_total,
        )

    @property
    def others_share(self) -> float:
        """The part of the machine's CPU time that none of the run's programs used.

        The benchmark process itself is small during a phase and counts here.
        """
        ours = self.service + self.postgres + self.load_generator
        if not self.machine_total:
            return 0.0
        return max(0.0, self.machine_busy - ours) / self.machine_total


class CpuMeter:
    """Takes CPU samples of the gunicorn arbiter's and the postmaster's trees."""

    def __init__(self, service_pid: int, postmaster_pid: int) -> None:
        self.service_pid = service_pid
        self.postmaster_pid = postmaster_pid

    def sample(self) -> CpuSample:
        busy, total = machine_seconds()
        return CpuSample(
            service=process_tree_seconds(self.service_pid),
            postgres=process_tree_seconds(self.postmaster_pid),
            load_generator=reaped_children_seconds(),
            machine_busy=busy,
            machine_total=total,
        )
