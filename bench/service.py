"""SentryAgent under gunicorn, configured for a benchmark run."""

import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench.processes import free_port

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 30  # s
STOP_TIMEOUT = 15  # s
# Log levels of Python's logging and gunicorn, and the start of a traceback.
PROBLEM_MARKERS = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|^Traceback")


def service_environment(
    database_url: str, issuer_url: str, service_url: str, cache_url: str
) -> dict:
    """Return the environment of the service and of the run's own Django setup.

    Every variable that changes what is measured is set here, so a developer's
    ``.env`` file (read with lower priority) cannot change it.
    """
    inherited = {
        name: value for name, value in os.environ.items() if name != "GUNICORN_CMD_ARGS"
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "sentryagent.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "SENTRYAGENT_ISSUER": service_url,
        "GITHUB_OIDC_ISSUER": issuer_url,
        "GITHUB_OIDC_AUDIENCE": service_url,
        "GITHUB_OIDC_JWKS_FILE": "",
        "SENTRYAGENT_NUM_PROXIES": "0",
        # DRF's throttle keeps one timestamp per request of the window in the
        # cache, so the limit's window, not only its count, sets that list's
        # size. A one-second window keeps it near the size a production limit
        # such as 600/min gives, and no request is ever limited.
        "SENTRYAGENT_RATE_LIMIT": "1000000/s",
    }


# Settings of gunicorn that the report lists, as resolved from the command
# line and the project's gunicorn.conf.py.
REPORTED_SETTINGS = (
    "config",
    "workers",
    "worker_class",
    "threads",
    "keepalive",
    "timeout",
    "max_requests",
    "max_requests_jitter",
    "preload_app",
    "accesslog",
)


class GunicornService:
    """SentryAgent under gunicorn on 127.0.0.1, with its output in a log file.

    gunicorn also reads the project's ``gunicorn.conf.py``, as in production,
    and the command line sets the address, the workers and the worker class.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int,
        worker_class: str,
        threads: int,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "gunicorn.log"
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "sentryagent.wsgi:application",
        ]

    def resolved_settings(self, env: dict) -> dict[str, str]:
        """Return gunicorn's resolved values of ``REPORTED_SETTINGS``."""
        completed = subprocess.run(  # noqa: S603 - fixed command, no shell
            [*self.command(), "--print-config"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        resolved = {}
        for line in completed.stdout.splitlines():
            name, separator, value = line.partition("=")
            if separator and name.strip() in REPORTED_SETTINGS:
                resolved[name.strip()] = value.strip()
        return resolved

    def start(self, env: dict) -> "GunicornService":
        command = self.command()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed command, no shell
                command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                requests.get(f"{self.url}/oidc/audience", timeout=1)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            logger.info(
                "gunicorn started url=%s workers=%s worker_class=%s threads=%s",
                self.url,
                self.workers,
                self.worker_class,
                self.threads,
            )
            return self
        self.stop()
        raise SystemExit(f"gunicorn did not respond within {STARTUP_TIMEOUT} s")

    def worker_pids(self) -> list[int]:
        """Return the process ids of gunicorn's workers."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_boots(self) -> int:
        """Return how many times gunicorn has started a worker, recycles included."""
        if not self.log_path.exists():
            return 0
        text = self.log_path.read_text(errors="replace")
        return text.count("Booting worker with pid")

    def log_problems(self) -> list[str]:
        """Return the log lines at WARNING or above, and tracebacks."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if PROBLEM_MARKERS.search(line)]

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.error("gunicorn did not stop in %s s; killing it", STOP_TIMEOUT)
            self.process.kill()
            self.process.wait()
        self.process = None
