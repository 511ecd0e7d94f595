"""Attacks and faults around the exchange: issuers, key fetching, rate limits,
settings and what reaches the logs."""

import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core.cache import cache

from devtools.local_issuer import LocalIssuer
from oidc_exchange import jwks
from oidc_exchange.errors import KeysUnavailable
from oidc_exchange.models import ExchangeRecord
from oidc_exchange.views import rate_limit_key
from tests import factories
from tests.conftest import AUDIENCE, PROJECT_DIR
from tests.oidc_exchange.token_requests import exchange, post_form, post_json


@pytest.fixture
def second_issuer(settings, issuer):
    """Another trusted issuer, such as a GitHub Enterprise Server."""
    with LocalIssuer() as other:
        settings.GITHUB_OIDC_ISSUERS = [issuer.url, other.url]
        yield other


@pytest.fixture
def enterprise_issuer():
    """An issuer whose URL has a path, as GitHub's enterprise issuers do."""
    with LocalIssuer(path="/acme") as enterprise:
        yield enterprise


def reason_of(response) -> str:
    return response.json()["reason"]


# --- issuers -----------------------------------------------------------------


def test_other_issuer_needs_its_policy(client, issuer, second_issuer, policy):
    token = second_issuer.mint(aud=AUDIENCE)

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 403
    assert ExchangeRecord.objects.get().detail_reason == "issuer_mismatch"


def test_policy_naming_issuer_matches(client, issuer, second_issuer, agent):
    factories.make_policy(agent, issuer=second_issuer.url)
    default_issuer_token = issuer.mint(aud=AUDIENCE)
    second_issuer_token = second_issuer.mint(aud=AUDIENCE)

    accepted = exchange(client, second_issuer_token, agent.pk)
    denied = exchange(client, default_issuer_token, agent.pk)

    assert accepted.status_code == 200
    assert denied.status_code == 403


def test_enterprise_issuer_when_configured(
    client, settings, issuer, enterprise_issuer, agent
):
    settings.GITHUB_OIDC_ISSUERS = [issuer.url, enterprise_issuer.url]
    factories.make_policy(agent, issuer=enterprise_issuer.url)

    response = exchange(client, enterprise_issuer.mint(aud=AUDIENCE), agent.pk)

    assert response.status_code == 200, response.content
    assert "/acme/.well-known/openid-configuration" in enterprise_issuer.requests
    assert issuer.requests == []


def test_enterprise_issuer_unconfigured_rejected(
    client, issuer, enterprise_issuer, policy
):
    response = exchange(client, enterprise_issuer.mint(aud=AUDIENCE), policy.agent_id)

    assert response.status_code == 401
    assert reason_of(response) == "untrusted_issuer"
    assert enterprise_issuer.requests == []


def test_enterprise_token_with_github_issuer_claim(
    client, settings, issuer, enterprise_issuer, policy
):
    # Signed by the enterprise issuer's key but claiming the default issuer:
    # the default issuer's keys do not include that kid.
    settings.GITHUB_OIDC_ISSUERS = [issuer.url, enterprise_issuer.url]
    token = enterprise_issuer.mint(aud=AUDIENCE, iss=issuer.url)

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 401
    assert reason_of(response) == "unknown_kid"
    assert enterprise_issuer.requests == []


def test_policy_issuer_must_be_trusted(api_client, issuer, agent):
    response = api_client.post(
        "/oidc/trust-policies",
        {"repository": "org/repo-a", "issuer": "https://evil.example.com"},
        format="json",
    )

    assert response.status_code == 400
    assert "issuer" in response.json()


# --- header parameters that must never be used --------------------------------


@pytest.mark.parametrize("algorithm", ["PS256", "ES256", "RS384", "none", "HS512"])
def test_other_algorithms_rejected(client, issuer, policy, algorithm):
    # The header names another algorithm; the signature stays RS256, which a
    # verifier that trusted the header would check with the wrong algorithm.
    token = issuer.mint(aud=AUDIENCE, headers={"alg": algorithm})

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 401
    assert reason_of(response) == "unsupported_algorithm"


def test_x5c_and_x5u_header_ignored(client, issuer, policy):
    with LocalIssuer() as attacker:
        forged = attacker.mint(
            aud=AUDIENCE,
            iss=issuer.url,
            kid=attacker.active_kid,
            headers={
                "x5u": f"{attacker.url}/cert.pem",
                "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
                "jku": f"{attacker.url}/.well-known/jwks",
            },
        )
        response = exchange(client, forged, policy.agent_id)
        attacker_requests = list(attacker.requests)

    assert response.status_code == 401
    assert reason_of(response) == "unknown_kid"
    assert attacker_requests == []


# --- fetching the issuer's keys ------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"issuer": "https://token.actions.githubusercontent.com"},
        {"jwks_uri": "http://keys.example.com/jwks"},
        {"jwks_uri": "ftp://127.0.0.1/jwks"},
        {"jwks_uri": 42},
    ],
    ids=["other-issuer", "http-non-loopback", "ftp", "not-a-string"],
)
def test_bad_discovery_document_unavailable(client, issuer, policy, overrides):
    issuer.discovery_overrides = overrides

    response = exchange(client, issuer.mint(aud=AUDIENCE), policy.agent_id)

    assert response.status_code == 503
    assert reason_of(response) == "issuer_keys_unavailable"
    assert "/.well-known/jwks" not in issuer.requests


def test_jwks_redirect_not_followed(client, issuer, policy):
    issuer.discovery_overrides = {"jwks_uri": f"{issuer.url}/redirect"}

    response = exchange(client, issuer.mint(aud=AUDIENCE), policy.agent_id)

    assert response.status_code == 503
    assert issuer.requests == ["/.well-known/openid-configuration", "/redirect"]


def test_cold_cache_concurrent_lookups(issuer):
    issuer.jwks_delay = 0.3

    def lookup(_):
        try:
            return jwks.get_verification_key(issuer.url, issuer.active_kid)
        except KeysUnavailable:
            return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = list(pool.map(lookup, range(4)))

    assert all(key is not None for key in keys)


def test_failed_fetch_backs_off(issuer):
    issuer.jwks_status = 500

    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            jwks.get_verification_key(issuer.url, issuer.active_kid)

    assert issuer.requests.count("/.well-known/jwks") == 1


# --- request size and shape ----------------------------------------------------


@pytest.mark.parametrize("length", ["²", "-1", "1e3", "99999999999999999999"])
def test_odd_content_length_rejected(client, db, length):
    response = client.post(
        "/oidc/token",
        "grant_type=x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=length,
    )

    assert response.status_code == 413
    assert reason_of(response) == "payload_too_large"


def test_non_object_json_body(client, db):
    response = post_json(client, ["grant_type"])

    assert response.status_code == 400
    assert reason_of(response) == "malformed_body"


def test_multipart_body_rejected(client, db):
    response = client.post("/oidc/token", {"grant_type": "x"})

    assert response.status_code == 400
    assert reason_of(response) == "malformed_body"


# --- rate limits -----------------------------------------------------------------


@pytest.fixture
def low_rate_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"oidc": "3/min"},
    }
    cache.clear()


def test_rate_limit_429_with_retry_after(client, db, low_rate_limit):
    statuses = [post_form(client, {}).status_code for _ in range(3)]
    limited = post_form(client, {})

    assert statuses == [400, 400, 400]
    assert limited.status_code == 429
    assert reason_of(limited) == "rate_limited"
    assert limited.json()["error"] == "slow_down"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_forwarded_for_not_trusted(client, db, low_rate_limit):
    statuses = [
        client.post(
            "/oidc/token",
            "",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{index}",
        ).status_code
        for index in range(4)
    ]

    assert statuses == [400, 400, 400, 429]


def test_rate_limit_applies_to_registration(client, db, low_rate_limit):
    statuses = [post_json(client, {}, "/oidc/agents").status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        (None, "unknown"),
    ],
    ids=["ipv4", "ipv6", "ipv6-same-64", "none"],
)
def test_rate_limit_key(address, key):
    assert rate_limit_key(address) == key


# --- secrets never reach the logs ------------------------------------------------


def test_tokens_absent_from_logs(client, caplog, issuer, policy, api_client):
    caplog.set_level(logging.DEBUG)
    subject_token = issuer.mint(aud=AUDIENCE)
    accepted = exchange(client, subject_token, policy.agent_id)
    replayed = exchange(client, subject_token, policy.agent_id)
    denied_token = issuer.mint(aud=AUDIENCE, repository="org/repo-b")
    exchange(client, denied_token, policy.agent_id)
    api_key = api_client._credentials["HTTP_AUTHORIZATION"].split()[1]
    api_client.get("/agents")
    access_token = accepted.json()["access_token"]

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert replayed.status_code == 401
    for secret in (subject_token, denied_token, access_token, api_key):
        signature = secret.rsplit(".", 1)[-1]
        assert signature not in logged
    for record in ExchangeRecord.objects.all():
        text = " ".join(str(getattr(record, f.attname)) for f in record._meta.fields)
        assert subject_token.rsplit(".", 1)[-1] not in text
        assert access_token.rsplit(".", 1)[-1] not in text


# --- settings that would weaken verification ---------------------------------------


def import_settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sentryagent.settings"],
        cwd=PROJECT_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "SECRET_KEY": "test-only-secret-key-not-for-production",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITHUB_OIDC_ISSUER": "http://token.example.com"}, "GITHUB_OIDC_ISSUER"),
        ({"GITHUB_OIDC_ISSUER": "https://x.example.com?a=b"}, "GITHUB_OIDC_ISSUER"),
        ({"GITHUB_OIDC_ISSUER": "ftp://127.0.0.1"}, "GITHUB_OIDC_ISSUER"),
        (
            {"SENTRYAGENT_ISSUER": "http://sentryagent.example.com"},
            "SENTRYAGENT_ISSUER",
        ),
        (
            {"GITHUB_OIDC_AUDIENCE": "https://github.com/octo-org"},
            "GITHUB_OIDC_AUDIENCE",
        ),
        ({"SENTRYAGENT_TOKEN_LIFETIME": "86400"}, "SENTRYAGENT_TOKEN_LIFETIME"),
        ({"SENTRYAGENT_SIGNING_ALGORITHM": "HS256"}, "SENTRYAGENT_SIGNING_ALGORITHM"),
        ({"SECRET_KEY": "", "DEBUG": "false"}, "SECRET_KEY"),
    ],
    ids=[
        "http-issuer",
        "issuer-query",
        "ftp-issuer",
        "http-public-url",
        "github-default-audience",
        "long-lifetime",
        "hmac-signing",
        "no-secret-key",
    ],
)
def test_unsafe_settings_rejected(env, message):
    result = import_settings(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_loopback_http_issuer_allowed():
    result = import_settings(
        GITHUB_OIDC_ISSUER="http://127.0.0.1:9000,http://[::1]:9000"
    )

    assert result.returncode == 0, result.stderr


# --- registration records ------------------------------------------------------


def test_registration_record_keeps_tenant_checks(client, issuer, tenant):
    other = factories.make_tenant("globex")
    own_policy = factories.make_policy(tenant=tenant, repository="org/repo-a")
    factories.make_policy(tenant=other, repository="org/repo-a", enabled=False)

    response = post_json(
        client,
        {"subject_token": issuer.mint(aud=AUDIENCE), "name": "release-bot"},
        "/oidc/agents",
    )

    assert response.status_code == 201, response.content
    record = ExchangeRecord.objects.get()
    assert record.tenant == tenant
    assert [entry["policy"] for entry in record.checks] == [str(own_policy.pk)]


def test_replay_leaves_policy_unused(client, issuer, policy):
    subject_token = issuer.mint(aud=AUDIENCE)
    exchange(client, subject_token, policy.agent_id)
    policy.refresh_from_db()
    first_use = policy.last_used_at

    with time_machine.travel(time.time() + 30, tick=False):
        replayed = exchange(client, subject_token, policy.agent_id)
    policy.refresh_from_db()

    assert replayed.status_code == 401
    assert policy.last_used_at == first_use


@pytest.mark.parametrize(
    "extra",
    [
        {"tenant": False},
        {"tenant": 0},
        {"tenant": []},
        {"tenant": "not a slug"},
        {"description": 0},
        {"description": {}},
        {"description": "bad\x00value"},
    ],
    ids=[
        "tenant-false",
        "tenant-0",
        "tenant-list",
        "tenant-spaces",
        "desc-0",
        "desc-object",
        "desc-nul",
    ],
)
def test_registration_parameters_rejected(client, issuer, tenant, extra):
    factories.make_policy(tenant=tenant, repository="org/repo-a")
    subject_token = issuer.mint(aud=AUDIENCE)

    response = post_json(
        client,
        {"subject_token": subject_token, "name": "release-bot", **extra},
        "/oidc/agents",
    )
    retry = post_json(
        client, {"subject_token": subject_token, "name": "release-bot"}, "/oidc/agents"
    )

    assert response.status_code == 400
    assert reason_of(response) == "invalid_parameter"
    # The token was not used up by the rejected request.
    assert retry.status_code == 201


def test_registration_null_optionals_accepted(client, issuer, tenant):
    factories.make_policy(tenant=tenant, repository="org/repo-a")

    response = post_json(
        client,
        {
            "subject_token": issuer.mint(aud=AUDIENCE),
            "name": "release-bot",
            "tenant": None,
            "description": None,
        },
        "/oidc/agents",
    )

    assert response.status_code == 201, response.content
