"""Load phases driven by wrk, one process per phase, with bounded durations."""

import json
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu import CpuMeter, CpuSample
from bench.processes import require_program

logger = logging.getLogger(__name__)

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
REQUEST_TIMEOUT = 10  # s; wrk counts slower responses as timeouts
# Seconds that wrk may take past its duration while its threads finish.
PROCESS_GRACE = 30  # s
RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class PhaseResult:
    """Measurements of one wrk phase."""

    name: str
    concurrency: int
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    bodies_sent: int = 0
    bodies_available: int = 0
    exhausted_threads: int = 0
    notes: list[str] = field(default_factory=list)
    # Differences of pg_stat_database counters over the phase, when taken.
    database: object = None
    cpu: CpuSample | None = None
    # Throughput of each round, when this result combines several.
    rounds: list[float] = field(default_factory=list)
    # Workers that gunicorn started during the phase, after recycling others.
    worker_boots: int = 0

    @property
    def throughput(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def non_200(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "200")

    @property
    def errors(self) -> int:
        """Non-200 responses plus socket errors and timeouts."""
        return self.non_200 + sum(self.socket_errors.values())

    @property
    def p99_over_p50(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else 0.0

    def cpu_ms_per_request(self, part: str) -> float:
        """Return the CPU milliseconds per request of "service", "postgres" or
        "load_generator" over the phase."""
        if self.cpu is None or not self.requests:
            return 0.0
        return getattr(self.cpu, part) * 1000 / self.requests


def _sum_or_none(values: list):
    if any(value is None for value in values):
        return None
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def combine(phases: list[PhaseResult]) -> PhaseResult:
    """Combine rounds of one phase into one result.

    Counts, durations and CPU times add up, so throughput and CPU per request
    are over all rounds. Latency percentiles cannot be merged from wrk's
    summaries, so they are the means of the rounds' percentiles, and the
    maximum is the highest of the rounds.
    """
    first = phases[0]

    def mean(name: str) -> float:
        return sum(getattr(phase, name) for phase in phases) / len(phases)

    statuses: dict[str, int] = {}
    socket_errors: dict[str, int] = {}
    for phase in phases:
        for status, count in phase.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        for kind, count in phase.socket_errors.items():
            socket_errors[kind] = socket_errors.get(kind, 0) + count
    return PhaseResult(
        name=first.name,
        concurrency=first.concurrency,
        requests=sum(phase.requests for phase in phases),
        duration_s=sum(phase.duration_s for phase in phases),
        p50_ms=mean("p50_ms"),
        p90_ms=mean("p90_ms"),
        p99_ms=mean("p99_ms"),
        max_ms=max(phase.max_ms for phase in phases),
        statuses=statuses,
        socket_errors=socket_errors,
        bodies_sent=sum(phase.bodies_sent for phase in phases),
        bodies_available=sum(phase.bodies_available for phase in phases),
        exhausted_threads=sum(phase.exhausted_threads for phase in phases),
        notes=[note for phase in phases for note in phase.notes],
        database=_sum_or_none([phase.database for phase in phases]),
        cpu=_sum_or_none([phase.cpu for phase in phases]),
        rounds=[phase.throughput for phase in phases],
        worker_boots=sum(phase.worker_boots for phase in phases),
    )


def wrk_threads(concurrency: int, cores: int) -> int:
    """Return wrk's thread count: one per core at most, never above connections."""
    return max(1, min(concurrency, cores))


def run_phase(
    name: str,
    url: str,
    *,
    concurrency: int,
    duration: int,
    cores: int,
    body_file: Path | None = None,
    bodies_available: int = 0,
    meter: CpuMeter | None = None,
    close_connections: bool = False,
) -> PhaseResult:
    """Run wrk against ``url`` and return its measurements.

    With ``body_file``, every request is a POST of the next unused line, on a
    new connection each time if ``close_connections`` is set.
    """
    threads = wrk_threads(concurrency, cores)
    command = [
        require_program("wrk"),
        "--threads",
        str(threads),
        "--connections",
        str(concurrency),
        "--duration",
        f"{duration}s",
        "--timeout",
        f"{REQUEST_TIMEOUT}s",
        "--script",
        str(WRK_SCRIPT),
        url,
    ]
    if body_file is not None:
        command += ["--", str(body_file), str(threads)]
        if close_connections:
            command.append("close")
    logger.info("phase %s concurrency=%s duration=%ss", name, concurrency, duration)
    before = meter.sample() if meter else None
    completed = subprocess.run(  # noqa: S603 - fixed program, no shell
        command,
        capture_output=True,
        text=True,
        timeout=duration + PROCESS_GRACE,
        check=False,
    )
    cpu = meter.sample() - before if meter else None
    if completed.returncode != 0:
        raise SystemExit(
            f"wrk failed with exit code {completed.returncode}:\n{completed.stderr}"
        )
    lines = [
        line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)
    ]
    if not lines:
        raise SystemExit(f"wrk printed no result line:\n{completed.stdout}")
    raw = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    result = PhaseResult(
        name=name,
        concurrency=concurrency,
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["latency_max_us"] / 1000,
        statuses=raw["statuses"],
        socket_errors=raw["socket_errors"],
        bodies_sent=raw["bodies_sent"],
        bodies_available=bodies_available,
        exhausted_threads=raw["exhausted_threads"],
        cpu=cpu,
    )
    if result.exhausted_threads:
        result.notes.append(
            f"{result.exhausted_threads} wrk thread(s) ran out of tokens, so the "
            "throughput is understated"
        )
    logger.info(
        "phase %s concurrency=%s throughput=%.1f/s p50=%.2fms p99=%.2fms "
        "errors=%s statuses=%s service_cpu=%.2fms/request "
        "postgres_cpu=%.2fms/request others_share=%.0f%%",
        name,
        concurrency,
        result.throughput,
        result.p50_ms,
        result.p99_ms,
        result.errors,
        result.statuses,
        result.cpu_ms_per_request("service"),
        result.cpu_ms_per_request("postgres"),
        100 * cpu.others_share if cpu else 0,
    )
    return result
