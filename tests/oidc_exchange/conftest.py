"""Fixtures of the token exchange tests."""

import functools
import secrets

import pytest
from django.conf import settings

from devtools.local_issuer import generate_rsa_pem
from oidc_exchange.models import SigningKey


@functools.cache
def session_rsa_pem(name: str) -> str:
    """Return an RSA private key generated once per test session for ``name``.

    Generating a 2048-bit key takes about 0.1 s, which adds up over hundreds
    of tests that need a key but not a new one.
    """
    return generate_rsa_pem()


@functools.cache
def _session_kid() -> str:
    return f"test-{secrets.token_hex(8)}"


@pytest.fixture
def signing_key(db):
    """An active SigningKey whose RSA key is generated once per session.

    Without it, each test's rollback deletes the key that the first exchange
    created, and the next test generates another one.
    """
    if settings.SENTRYAGENT_SIGNING_ALGORITHM != "RS256":
        # The service generates a key of the configured algorithm itself.
        return None
    return SigningKey.objects.create(
        kid=_session_kid(),
        algorithm="RS256",
        private_key_pem=session_rsa_pem("signing"),
    )
