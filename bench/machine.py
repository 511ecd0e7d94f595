"""The machine and software versions a run measured, for the report."""

import os
import platform
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

from bench.processes import require_program

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGES = (
    "Django",
    "djangorestframework",
    "python-jose",
    "cryptography",
    "gunicorn",
    "psycopg",
)


def cores() -> int:
    """Return the number of cores this process may run on, as nproc prints."""
    return len(os.sched_getaffinity(0))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _command_output(*command: str) -> str:
    completed = subprocess.run(  # noqa: S603 - fixed programs, no shell
        command, capture_output=True, text=True, check=False, cwd=PROJECT_DIR
    )
    return completed.stdout.strip()


def describe() -> dict[str, str]:
    """Return the machine's cores, CPU model, memory, kernel and load."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "cores (nproc)": str(cores()),
        "CPU model": _cpu_model(),
        "memory": f"{_memory_gib():.1f} GiB",
        "kernel": platform.release(),
        "load average at start (1, 5, 15 min)": load,
    }


def versions(postgres_version: str) -> dict[str, str]:
    """Return the versions of Python, the packages, PostgreSQL, wrk and git HEAD."""
    found = {"Python": platform.python_version()}
    for package in PACKAGES:
        found[package] = version(package)
    found["PostgreSQL"] = postgres_version
    wrk = _command_output(require_program("wrk"), "--version")
    found["wrk"] = wrk.splitlines()[0].split(" Copyright")[0] if wrk else "unknown"
    git = shutil.which("git")
    if git:
        commit = _command_output(git, "rev-parse", "--short", "HEAD")
        changed = _command_output(git, "status", "--porcelain", "--untracked-files=no")
        found["commit"] = commit + (" with uncommitted changes" if changed else "")
    return found
