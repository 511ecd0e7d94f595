"""A private PostgreSQL cluster on loopback for one benchmark run.

It is started the way ``.ci/run`` starts CI's cluster: ``initdb`` into a
temporary directory, then ``pg_ctl start`` on a free port of 127.0.0.1, with
the Unix socket inside that directory. As root, both run as the ``postgres``
user, because PostgreSQL refuses to run as root.
"""

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.processes import free_port, require_program

logger = logging.getLogger(__name__)

POSTGRES_USER = "postgres"
SYSTEM_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def find_bin_dir() -> Path:
    """Return the directory of the newest installed PostgreSQL server."""
    candidates = [path for path in SYSTEM_BIN_DIRS if (path / "postgres").exists()]
    if candidates:
        return max(candidates, key=lambda path: int(path.parent.name))
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise SystemExit(
        "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres and no "
        "initdb on PATH. Install it with: apt-get install -y postgresql"
    )


class PostgresCluster:
    """A throwaway cluster, removed with its databases by ``stop``."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="sentryagent-bench-pg-"))
        self.data_dir = self.directory / "data"
        self.log_path = self.directory / "server.log"
        self.started = False

    def url(self, database: str) -> str:
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=POSTGRES_USER)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            POSTGRES_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
        )
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--wait",
            "--log",
            str(self.log_path),
            "--options",
            options,
            "start",
        )
        self.started = True
        logger.info("postgres started port=%s data=%s", self.port, self.data_dir)
        return self

    def create_database(self, database: str) -> str:
        """Create an empty database and return its URL."""
        self._run(
            "createdb",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--username",
            POSTGRES_USER,
            database,
        )
        return self.url(database)

    def postmaster_pid(self) -> int:
        """Return the server's process id, from the first line of postmaster.pid."""
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def server_version(self) -> str:
        output = self._run("postgres", "--version")
        return output.strip().removeprefix("postgres (PostgreSQL) ")

    def stop(self) -> None:
        """Stop the server, if it runs, and delete its directory."""
        if self.started:
            try:
                self._run(
                    "pg_ctl", "--pgdata", str(self.data_dir), "--mode", "fast", "stop"
                )
            except subprocess.CalledProcessError as error:
                logger.error("postgres stop failed returncode=%s", error.returncode)
            self.started = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, program: str, *args: str) -> str:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = [
                require_program("runuser", "util-linux"),
                "-u",
                POSTGRES_USER,
                "--",
                *command,
            ]
        result = subprocess.run(  # noqa: S603 - fixed programs, no shell
            command, capture_output=True, text=True, check=False, cwd=self.directory
        )
        if result.returncode != 0:
            logger.error("%s failed: %s", program, result.stderr.strip())
            result.check_returncode()
        return result.stdout
