"""Caching of the issuer's keys, against the local issuer over HTTP.

The issuer records the path of every request it serves, so the tests count
fetches of its discovery document and of its JWKS.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from jose import jwt

from oidc_exchange import jwks
from oidc_exchange.models import ExchangeRecord
from tests.oidc_exchange.conftest import session_rsa_pem
from tests.oidc_exchange.token_requests import exchange, mint, rsa_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signing_key")]

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks"


@pytest.fixture
def issuer_keys(issuer):
    """Restore the session issuer's keys after a test changes them."""
    saved_keys = dict(issuer.keys)
    saved_active_kid = issuer.active_kid
    yield issuer.keys
    issuer.keys.clear()
    issuer.keys.update(saved_keys)
    issuer.active_kid = saved_active_kid


def jwks_fetches(issuer) -> int:
    return issuer.requests.count(JWKS_PATH)


def signed_with(issuer, private_pem: str, kid: str) -> str:
    return jwt.encode(
        issuer.claims(), rsa_key(private_pem), algorithm="RS256", headers={"kid": kid}
    )


def unpublished_kid_token(issuer, kid: str = "NOT-PUBLISHED") -> str:
    return signed_with(issuer, session_rsa_pem("unpublished"), kid)


def test_many_exchanges_one_fetch(client, issuer, policy):
    statuses = [
        exchange(client, mint(issuer), policy.agent_id).status_code for _ in range(5)
    ]

    assert statuses == [200] * 5
    assert issuer.requests == [DISCOVERY_PATH, JWKS_PATH]


def test_unknown_kid_refreshes_once(client, issuer, policy):
    primed = exchange(client, mint(issuer), policy.agent_id)

    responses = [
        exchange(client, unpublished_kid_token(issuer, f"KID-{n}"), policy.agent_id)
        for n in range(3)
    ]

    assert primed.status_code == 200
    assert [response.status_code for response in responses] == [401] * 3
    assert {response.json()["reason"] for response in responses} == {"unknown_kid"}
    assert jwks_fetches(issuer) == 2


def test_unknown_kid_cold_cache_one_fetch(client, issuer, policy):
    response = exchange(client, unpublished_kid_token(issuer), policy.agent_id)

    assert response.status_code == 401
    assert response.json()["reason"] == "unknown_kid"
    assert jwks_fetches(issuer) == 1


def test_unknown_kid_refreshes_after_cooldown(client, issuer, policy):
    exchange(client, mint(issuer), policy.agent_id)
    exchange(client, unpublished_kid_token(issuer), policy.agent_id)
    cooldown = settings.GITHUB_OIDC_REFRESH_COOLDOWN

    with time_machine.travel(timedelta(seconds=cooldown + 1)):
        response = exchange(client, unpublished_kid_token(issuer), policy.agent_id)

    assert response.json()["reason"] == "unknown_kid"
    assert jwks_fetches(issuer) == 3


def test_bad_signature_no_fetch(client, issuer, policy):
    exchange(client, mint(issuer), policy.agent_id)
    forged = signed_with(issuer, session_rsa_pem("unpublished"), issuer.active_kid)

    responses = [exchange(client, forged, policy.agent_id) for _ in range(3)]

    assert {response.status_code for response in responses} == {401}
    assert {response.json()["reason"] for response in responses} == {"bad_signature"}
    assert jwks_fetches(issuer) == 1


@pytest.mark.parametrize("status", [500, 404, 429])
def test_failed_fetch_keeps_cached_keys(client, issuer, policy, status):
    exchange(client, mint(issuer), policy.agent_id)
    issuer.jwks_status = status
    refresh = exchange(client, unpublished_kid_token(issuer), policy.agent_id)

    response = exchange(client, mint(issuer), policy.agent_id)

    assert refresh.json()["reason"] == "unknown_kid"
    assert jwks_fetches(issuer) == 2
    assert response.status_code == 200, response.json()


def test_empty_jwks_keeps_cached_keys(client, issuer, issuer_keys, policy):
    exchange(client, mint(issuer), policy.agent_id)
    token = mint(issuer)
    saved = dict(issuer_keys)
    issuer_keys.clear()
    refresh = exchange(client, unpublished_kid_token(issuer), policy.agent_id)
    issuer_keys.update(saved)

    response = exchange(client, token, policy.agent_id)

    assert refresh.json()["reason"] == "unknown_kid"
    assert jwks_fetches(issuer) == 2
    assert response.status_code == 200, response.json()


def test_stale_keys_kept_when_fetch_fails(client, issuer, policy):
    exchange(client, mint(issuer), policy.agent_id)
    issuer.jwks_status = 500
    max_age = settings.GITHUB_OIDC_JWKS_MAX_AGE

    with time_machine.travel(timedelta(seconds=max_age + 1)):
        response = exchange(client, mint(issuer), policy.agent_id)

    assert response.status_code == 200, response.json()
    assert jwks_fetches(issuer) == 2


def test_stale_keys_refreshed(client, issuer, policy):
    exchange(client, mint(issuer), policy.agent_id)
    max_age = settings.GITHUB_OIDC_JWKS_MAX_AGE

    with time_machine.travel(timedelta(seconds=max_age + 1)):
        responses = [exchange(client, mint(issuer), policy.agent_id) for _ in range(3)]

    assert [response.status_code for response in responses] == [200] * 3
    assert jwks_fetches(issuer) == 2


@pytest.mark.parametrize("status", [500, 404])
def test_no_keys_unavailable(client, issuer, policy, status):
    issuer.jwks_status = status
    token = mint(issuer)

    response = exchange(client, token, policy.agent_id)
    body = response.json()

    assert response.status_code == 503
    assert body["error"] == "temporarily_unavailable"
    assert body["reason"] == "issuer_keys_unavailable"
    record = ExchangeRecord.objects.get()
    assert record.outcome == "error"
    assert record.reason == "issuer_keys_unavailable"


def test_no_keys_backoff_then_recovers(client, issuer, policy):
    issuer.jwks_status = 500
    failed = [exchange(client, mint(issuer), policy.agent_id) for _ in range(3)]
    issuer.jwks_status = 200
    within_backoff = exchange(client, mint(issuer), policy.agent_id)

    with time_machine.travel(timedelta(seconds=jwks.FAILED_FETCH_BACKOFF + 1)):
        recovered = exchange(client, mint(issuer), policy.agent_id)

    assert [response.status_code for response in failed] == [503] * 3
    assert within_backoff.status_code == 503
    assert recovered.status_code == 200, recovered.json()
    assert jwks_fetches(issuer) == 2


def test_slow_jwks_times_out(client, issuer, policy, settings):
    settings.GITHUB_OIDC_HTTP_TIMEOUT = (0.5, 0.5)
    issuer.jwks_delay = 1.5

    response = exchange(client, mint(issuer), policy.agent_id)

    assert response.status_code == 503
    assert response.json()["reason"] == "issuer_keys_unavailable"


def test_new_kid_used_right_away(client, issuer, issuer_keys, policy):
    exchange(client, mint(issuer), policy.agent_id)
    new_kid = issuer.add_key()

    response = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)

    assert response.status_code == 200, response.json()
    assert jwks_fetches(issuer) == 2


def test_new_kid_used_after_cooldown(client, issuer, issuer_keys, policy):
    exchange(client, mint(issuer), policy.agent_id)
    exchange(client, unpublished_kid_token(issuer), policy.agent_id)
    new_kid = issuer.add_key()
    within_cooldown = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)
    cooldown = settings.GITHUB_OIDC_REFRESH_COOLDOWN

    with time_machine.travel(timedelta(seconds=cooldown + 1)):
        after_cooldown = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)
        known = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)

    assert within_cooldown.status_code == 401
    assert within_cooldown.json()["reason"] == "unknown_kid"
    assert after_cooldown.status_code == 200, after_cooldown.json()
    assert known.status_code == 200, known.json()
    assert jwks_fetches(issuer) == 3


def test_removed_kid_dropped_on_refresh(client, issuer, issuer_keys, policy):
    """A key the issuer stops publishing verifies until the keys are refetched."""
    exchange(client, mint(issuer), policy.agent_id)
    old_kid = issuer.active_kid
    old_pem = issuer_keys.pop(old_kid)
    issuer.active_kid = issuer.add_key()

    cached = exchange(client, signed_with(issuer, old_pem, old_kid), policy.agent_id)
    max_age = settings.GITHUB_OIDC_JWKS_MAX_AGE
    with time_machine.travel(timedelta(seconds=max_age + 1)):
        token = signed_with(issuer, old_pem, old_kid)
        refetched = exchange(client, token, policy.agent_id)

    assert cached.status_code == 200, cached.json()
    assert refetched.status_code == 401
    assert refetched.json()["reason"] == "unknown_kid"
    assert jwks_fetches(issuer) == 2


# --- GITHUB_OIDC_JWKS_FILE in place of fetching ------------------------------------

# Contents of a JWKS file from which no key can be read.
UNUSABLE_JWKS_FILES = [
    pytest.param("{not json", id="invalid-json"),
    pytest.param("[]", id="array"),
    pytest.param('{"keys": 5}', id="keys-number"),
    pytest.param('{"keys": {"kid": "x"}}', id="keys-object"),
    pytest.param('{"keys": []}', id="no-keys"),
    pytest.param('{"keys": [{"kty": "EC", "kid": "x", "crv": "P-256"}]}', id="ec-key"),
    pytest.param(None, id="missing-file"),
]


@pytest.mark.parametrize("content", UNUSABLE_JWKS_FILES)
def test_unusable_jwks_file(client, issuer, policy, settings, tmp_path, content):
    jwks_file = tmp_path / "jwks.json"
    if content is not None:
        jwks_file.write_text(content)
    settings.GITHUB_OIDC_JWKS_FILE = str(jwks_file)

    response = exchange(client, mint(issuer), policy.agent_id)

    assert response.status_code == 503
    assert response.json()["reason"] == "issuer_keys_unavailable"
    assert ExchangeRecord.objects.get().reason == "issuer_keys_unavailable"
    assert issuer.requests == []


def test_jwks_file_replaces_fetching(client, issuer, policy, settings, tmp_path):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks()))
    settings.GITHUB_OIDC_JWKS_FILE = str(jwks_file)

    response = exchange(client, mint(issuer), policy.agent_id)

    assert response.status_code == 200, response.json()
    assert issuer.requests == []


def test_jwks_file_reread_on_change(
    client, issuer, issuer_keys, policy, settings, tmp_path
):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks()))
    settings.GITHUB_OIDC_JWKS_FILE = str(jwks_file)
    exchange(client, mint(issuer), policy.agent_id)
    new_kid = issuer.add_key()
    before = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)

    jwks_file.write_text(json.dumps(issuer.jwks()))
    after = exchange(client, mint(issuer, kid=new_kid), policy.agent_id)

    assert before.json()["reason"] == "unknown_kid"
    assert after.status_code == 200, after.json()
