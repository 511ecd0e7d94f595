"""Helpers for the processes a benchmark run starts on loopback."""

import shutil
import socket


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_program(name: str, package: str | None = None) -> str:
    """Return the absolute path of a program on PATH, or exit with how to get it."""
    path = shutil.which(name)
    if path is None:
        raise SystemExit(
            f"{name!r} is not installed. On Debian: apt-get install -y "
            f"{package or name}"
        )
    return path
