"""Real GitHub Actions OIDC tokens through the whole verification path.

The tokens in tests/fixtures/github_oidc/ were issued by GitHub and have long
expired, so each test pins the clock inside the token's validity window.
jwks.json contains the GitHub public keys that signed them.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import RequestFactory
from jose import jwt

from oidc_exchange import errors
from oidc_exchange.exchange import verify_subject_token
from oidc_exchange.models import ExchangeRecord
from oidc_exchange.records import Attempt
from tests import factories
from tests.conftest import exchange_params

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github_oidc"
JWKS_FILE = FIXTURES / "jwks.json"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# Seconds after iat at which the clock is pinned. Every token is valid for
# 300 s after its iat, so the pinned time is inside each token's window.
INSIDE_WINDOW = 60


def case(file_name, repository, audience, issued_at):
    return pytest.param(file_name, repository, audience, issued_at, id=repository)


# Tokens whose claims include every claim the exchange requires.
COMPLETE_TOKENS = [
    case(
        "78167f72_2022-07-15_thepwagner-github-token-action.jwt",
        "thepwagner/github-token-action",
        "github-token-action-server",
        1657884112,
    ),
    case(
        "78167f72_2022-10-20_qoomon-github-actions-access-manager.jwt",
        "qoomon/github-actions-access-manager",
        "https://github.com/qoomon",
        1666298761,
    ),
    case(
        "78167f72_2023-01-23_nickolashkraus-flask-oidc.jwt",
        "nickolashkraus/flask-oidc",
        "https://github.com/nickolashkraus",
        1674498678,
    ),
    case(
        "78167f72_2023-01-30_trustification-source-distributed.jwt",
        "trustification/source-distributed",
        "https://github.com/trustification",
        1675089665,
    ),
    case(
        "78167f72_2023-03-28_segiddins-oidc-test.jwt",
        "segiddins/oidc-test",
        "https://github.com/segiddins",
        1680020537,
    ),
    case(
        "78167f72_2023-06-05_mikenomitch-nomad-gha-jwt-auth.jwt",
        "mikenomitch/nomad-gha-jwt-auth",
        "https://github.com/mikenomitch",
        1685938007,
    ),
    case(
        "78167f72_2023-07-31_spsdevops-webinar_test_despliegue.jwt",
        "spsdevops/webinar_test_despliegue",
        "cicd.sps",
        1690842617,
    ),
    case(
        "1f2ab834_2023-12-13_csas-ops-cicd-samples-apps.jwt",
        "csas-ops/cicd-samples-apps",
        "https://github.com/csas-ops",
        1702474750,
    ),
    case(
        "1f2ab834_2025-01-29_neu-se-autograder-action.jwt",
        "neu-se/autograder-action",
        "https://github.com/neu-se",
        1738115363,
    ),
    case(
        "38826b17_2026-03-03_n-e-github_playground.jwt",
        "n-e/github_playground",
        "https://github.com/n-e",
        1772541850,
    ),
    case(
        "38826b17_2026-04-22_marchenko1985-github_oidc_token_demo.jwt",
        "marchenko1985/github_oidc_token_demo",
        "demo",
        1776844493,
    ),
]
# The two oldest tokens, issued before GitHub added repository_id and
# repository_owner_id to its tokens.
TOKENS_WITHOUT_REPOSITORY_ID = [
    case(
        "52f197c4_2021-12-08_paper-spa-minyi.jwt",
        "paper-spa/minyi",
        "https://github.com/paper-spa",
        1639001456,
    ),
    case(
        "78167f72_2022-03-30_atlassian-labs-oidc-test.jwt",
        "atlassian-labs/oidc-test",
        "https://github.com/atlassian-labs",
        1648599238,
    ),
]
GENUINE_TOKENS = COMPLETE_TOKENS + TOKENS_WITHOUT_REPOSITORY_ID
# The flask-oidc token with the last character of its signature changed.
TAMPERED_TOKEN = case(
    "bad-signature_78167f72_2023-01-23_nickolashkraus-flask-oidc.jwt",
    "nickolashkraus/flask-oidc",
    "https://github.com/nickolashkraus",
    1674498678,
)


@pytest.fixture
def github_settings(settings):
    settings.GITHUB_OIDC_JWKS_FILE = str(JWKS_FILE)
    settings.GITHUB_OIDC_ISSUERS = [GITHUB_ISSUER]
    return settings


def read_token(file_name: str) -> str:
    return (FIXTURES / file_name).read_text()


def new_attempt() -> Attempt:
    request = RequestFactory().post("/oidc/token")
    return Attempt(ExchangeRecord.Endpoint.TOKEN, request, "127.0.0.1")


def verify_at(token: str, moment: float | None) -> dict:
    """Verify the token with the clock at ``moment``, or now when None."""
    if moment is None:
        return verify_subject_token(token, new_attempt()).claims
    with time_machine.travel(moment, tick=False):
        return verify_subject_token(token, new_attempt()).claims


def rejection_at(token: str, moment: float | None) -> errors.ExchangeError:
    with pytest.raises(errors.ExchangeError) as caught:
        verify_at(token, moment)
    return caught.value


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), COMPLETE_TOKENS
)
def test_genuine_token_verifies(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    claims = verify_at(read_token(file_name), issued_at + INSIDE_WINDOW)

    assert claims["repository"] == repository
    assert claims["iss"] == GITHUB_ISSUER
    assert claims["aud"] == audience


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), COMPLETE_TOKENS
)
def test_genuine_token_wrong_audience(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = "http://127.0.0.1:8000"

    error = rejection_at(read_token(file_name), issued_at + INSIDE_WINDOW)

    assert error.status_code == 401
    assert error.reason == "invalid_audience"


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), TOKENS_WITHOUT_REPOSITORY_ID
)
def test_old_token_lacks_repository_id(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    error = rejection_at(read_token(file_name), issued_at + INSIDE_WINDOW)

    assert error.status_code == 401
    assert error.reason == "missing_claim"
    assert "'repository_id'" in error.description


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), [TAMPERED_TOKEN]
)
def test_tampered_token_bad_signature(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    error = rejection_at(read_token(file_name), issued_at + INSIDE_WINDOW)

    assert error.status_code == 401
    assert error.reason == "bad_signature"


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), GENUINE_TOKENS
)
def test_genuine_token_expired_today(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    error = rejection_at(read_token(file_name), None)

    assert error.status_code == 401
    assert error.reason == "token_expired"


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), GENUINE_TOKENS
)
def test_genuine_token_expired_after_window(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience
    lifetime = 300
    leeway = github_settings.GITHUB_OIDC_LEEWAY

    error = rejection_at(read_token(file_name), issued_at + lifetime + leeway + 1)

    assert error.reason == "token_expired"


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), GENUINE_TOKENS
)
def test_genuine_token_other_keys_only(
    github_settings, tmp_path, file_name, repository, audience, issued_at
):
    token = read_token(file_name)
    kid = jwt.get_unverified_header(token)["kid"]
    all_keys = json.loads(JWKS_FILE.read_text())["keys"]
    other_keys = [key for key in all_keys if key["kid"] != kid]
    jwks_file = tmp_path / "other-keys.json"
    jwks_file.write_text(json.dumps({"keys": other_keys}))
    github_settings.GITHUB_OIDC_JWKS_FILE = str(jwks_file)
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    error = rejection_at(token, issued_at + INSIDE_WINDOW)

    assert len(other_keys) == len(all_keys) - 1
    assert error.status_code == 401
    assert error.reason == "unknown_kid"


@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), GENUINE_TOKENS
)
def test_genuine_token_untrusted_issuer(
    github_settings, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_ISSUERS = ["http://127.0.0.1:8001"]
    github_settings.GITHUB_OIDC_AUDIENCE = audience

    error = rejection_at(read_token(file_name), issued_at + INSIDE_WINDOW)

    assert error.reason == "untrusted_issuer"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("file_name", "repository", "audience", "issued_at"), COMPLETE_TOKENS
)
def test_genuine_token_exchanged(
    github_settings, client, signing_key, file_name, repository, audience, issued_at
):
    github_settings.GITHUB_OIDC_AUDIENCE = audience
    token = read_token(file_name)
    claims = jwt.get_unverified_claims(token)
    agent = factories.make_agent(factories.make_tenant())
    policy = factories.make_policy(agent, repository=repository.upper())

    with time_machine.travel(issued_at + INSIDE_WINDOW, tick=False):
        response = client.post(
            "/oidc/token",
            urlencode(exchange_params(token, agent.pk)),
            content_type="application/x-www-form-urlencoded",
        )
    policy.refresh_from_db()
    record = ExchangeRecord.objects.get()
    pinned_time = datetime.fromtimestamp(issued_at + INSIDE_WINDOW, tz=UTC)

    assert response.status_code == 200, response.content
    assert policy.repository_id == claims["repository_id"]
    assert policy.repository_owner_id == claims["repository_owner_id"]
    assert record.reason == "accepted"
    assert record.github_jti == claims["jti"]
    assert record.created_at == pinned_time
