"""The cryptography floor: RS256 verify plus RS256 sign, in process.

One operation is the least that every exchange does. It verifies a
GitHub-shaped token with python-jose against a public key object built once,
as ``oidc_exchange.github.verify_signature`` does. Then it signs access token
claims with a private key object built once, as
``oidc_exchange.signing.mint_access_token`` does. No database, HTTP or Django
is involved.
"""

import json
import logging
import multiprocessing
import signal
import time
import uuid
from dataclasses import dataclass

from jose import jwk, jws, jwt
from jose.backends.base import Key

from devtools.local_issuer import LocalIssuer, generate_rsa_pem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CryptoFloor:
    """Verify-and-sign operations per second, in one process and on all cores."""

    single_process: float
    all_cores: float
    processes: int

    @property
    def per_core(self) -> float:
        return self.all_cores / self.processes


# Inputs of a measuring process, set before the fork.
_job: tuple[str, Key, Key, str] | None = None


def verify_and_sign(token: str, public_key: Key, private_key: Key, kid: str) -> str:
    claims = json.loads(jws.verify(token, public_key, algorithms=["RS256"]))
    now = int(time.time())
    payload = {
        "iss": claims["aud"],
        "aud": claims["aud"],
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
        "sub": str(uuid.uuid4()),
        "act": {"iss": claims["iss"], "sub": claims["sub"]},
    }
    return jwt.encode(
        payload, private_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )


def _reset_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _operations_per_second(seconds: float) -> float:
    token, public_key, private_key, kid = _job
    verify_and_sign(token, public_key, private_key, kid)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        verify_and_sign(token, public_key, private_key, kid)
        count += 1
    return count / (time.perf_counter() - started)


def measure(issuer: LocalIssuer, audience: str, seconds: float, processes: int):
    """Measure the floor in this process, then in ``processes`` processes at once."""
    global _job
    token = issuer.mint(aud=audience)
    public_jwk = next(
        key for key in issuer.jwks()["keys"] if key["kid"] == issuer.active_kid
    )
    public_key = jwk.construct(public_jwk, algorithm="RS256")
    private_key = jwk.construct(generate_rsa_pem(), algorithm="RS256")
    _job = (token, public_key, private_key, "bench-kid")

    single = _operations_per_second(seconds)
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_reset_sigterm) as pool:
        rates = pool.map(_operations_per_second, [seconds] * processes)
    floor = CryptoFloor(single, sum(rates), processes)
    logger.info(
        "crypto floor single_process=%.0f/s all_cores=%.0f/s processes=%s",
        floor.single_process,
        floor.all_cores,
        processes,
    )
    return floor
