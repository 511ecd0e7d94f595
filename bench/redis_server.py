"""A private redis-server on loopback for one benchmark run.

The services use it as their shared cache (``CACHE_URL``), as a production
deployment of several processes does, so GitHub's keys and rate-limit counts
are shared by every worker, including workers that gunicorn starts later.
"""

import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bench.processes import free_port, require_program

logger = logging.getLogger(__name__)

START_TIMEOUT = 10  # s


class RedisServer:
    def __init__(self) -> None:
        self.binary = require_program("redis-server")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="sentryagent-bench-redis-"))
        self.process: subprocess.Popen | None = None

    def url(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(  # noqa: S603 - the binary found on PATH
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"redis-server did not start within {START_TIMEOUT} s"
                    ) from None
                time.sleep(0.1)
        logger.info("redis started port=%s", self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)
