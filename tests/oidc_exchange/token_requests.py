"""Helpers that send token exchange requests and read the exchange log."""

import functools
import json
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from jose import jwk, jwt
from jose.backends.base import Key

from devtools.local_issuer import LocalIssuer
from oidc_exchange.models import ExchangeRecord
from tests.conftest import exchange_params

FORM = "application/x-www-form-urlencoded"


def post_form(client: Client, params: dict, path: str = "/oidc/token"):
    return client.post(path, urlencode(params), content_type=FORM)


def post_json(client: Client, params: dict, path: str = "/oidc/token"):
    return client.post(path, json.dumps(params), content_type="application/json")


def exchange(client: Client, subject_token: str, agent_id, **overrides):
    """POST the RFC 8693 parameters form-encoded. ``None`` leaves one out."""
    return post_form(client, exchange_params(subject_token, agent_id, **overrides))


def record_text(record: ExchangeRecord) -> str:
    """Return every stored field of the record, joined, to search for secrets."""
    values = [str(getattr(record, field.attname)) for field in record._meta.fields]
    return "\n".join(values)


@functools.cache
def rsa_key(private_pem: str) -> Key:
    """Return the key object of a PEM, parsed once per test session.

    Parsing a PEM validates the RSA key, which takes tens of milliseconds.
    """
    return jwk.construct(private_pem, algorithm="RS256")


def mint(
    issuer: LocalIssuer,
    claims: dict[str, Any] | None = None,
    *,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    """Sign a token as ``LocalIssuer.mint`` does, parsing each key only once."""
    kid = kid or issuer.active_kid
    payload = claims if claims is not None else issuer.claims(**overrides)
    return jwt.encode(
        payload,
        rsa_key(issuer.keys[kid]),
        algorithm="RS256",
        headers={"kid": kid, "typ": "JWT", **(headers or {})},
    )
