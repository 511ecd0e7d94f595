"""GitHub-shaped tokens minted ahead of a load phase, one per request.

Each token has its own jti, because the service accepts a jti once, and
expires five minutes after it is minted, so each phase mints its own.
``LocalIssuer.mint`` parses the PEM key on every call (about 50 ms), so the
tokens are signed here with a key object built once per process, using the
issuer's claims and header. Worker processes sign in parallel.
"""

import logging
import multiprocessing
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from jose import jwk, jwt
from jose.backends.base import Key

from devtools.local_issuer import LocalIssuer

logger = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@dataclass(frozen=True)
class Target:
    """An agent and the repository whose trust policy lets it act as the agent."""

    agent_id: str
    repository: str
    repository_id: str
    repository_owner_id: str


def signing_key(issuer: LocalIssuer) -> Key:
    return jwk.construct(issuer.keys[issuer.active_kid], algorithm="RS256")


def mint(issuer: LocalIssuer, key: Key, target: Target, audience: str) -> str:
    """Return a token as ``LocalIssuer.mint`` makes it, for a push to main."""
    claims = issuer.claims(
        aud=audience,
        repository=target.repository,
        repository_id=target.repository_id,
        repository_owner_id=target.repository_owner_id,
    )
    return jwt.encode(
        claims,
        key,
        algorithm="RS256",
        headers={"kid": issuer.active_kid, "typ": "JWT"},
    )


def exchange_body(subject_token: str, agent_id: str) -> str:
    """Return the form-encoded body of one POST /oidc/token."""
    return urlencode(
        {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "agent_id": agent_id,
        }
    )


# State of a minting worker process, set before the fork and in its initializer.
_issuer: LocalIssuer | None = None
_key: Key | None = None


def _init_worker() -> None:
    global _key
    # The pool ends its workers with SIGTERM, which must not run the handler
    # that the benchmark's main process installed.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _key = signing_key(_issuer)


def _mint_bodies(job: tuple[list[Target], str, int, int]) -> list[str]:
    targets, audience, start, count = job
    return [
        exchange_body(
            mint(_issuer, _key, targets[index % len(targets)], audience),
            targets[index % len(targets)].agent_id,
        )
        for index in range(start, start + count)
    ]


def write_body_file(
    path: Path,
    issuer: LocalIssuer,
    targets: list[Target],
    audience: str,
    count: int,
    processes: int,
) -> Path:
    """Mint ``count`` tokens spread over ``targets`` and write one body per line.

    Worker processes are forked, so they share the issuer's keys. They only
    sign, and never use the issuer's server thread or this process's database
    connections.
    """
    global _issuer
    _issuer = issuer
    started = time.monotonic()
    chunk = -(-count // processes)
    jobs = [
        (targets, audience, start, min(chunk, count - start))
        for start in range(0, count, chunk)
    ]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init_worker) as pool:
        parts = pool.map(_mint_bodies, jobs)
    with path.open("w") as body_file:
        for part in parts:
            body_file.writelines(line + "\n" for line in part)
    logger.info(
        "minted tokens count=%s file=%s seconds=%.1f",
        count,
        path.name,
        time.monotonic() - started,
    )
    return path
