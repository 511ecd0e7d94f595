"""The exchange through gunicorn, as a GitHub Actions job would call it."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from jose import jwt

from agents.models import Agent
from oidc_exchange.models import ExchangeRecord
from tests.conftest import AUDIENCE, exchange_params
from tests.oidc_exchange.token_requests import record_text

pytestmark = pytest.mark.django_db(transaction=True)


def post_token(live_service, subject_token: str, agent_id) -> requests.Response:
    return requests.post(
        f"{live_service.url}/oidc/token",
        data=exchange_params(subject_token, agent_id),
        timeout=10,
    )


def test_exchange_accepted_and_verifiable(live_service, local_issuer, policy):
    subject_token = local_issuer.mint(aud=AUDIENCE)

    response = post_token(live_service, subject_token, policy.agent_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"
    jwks = requests.get(f"{live_service.url}/.well-known/jwks.json", timeout=10).json()
    claims = jwt.decode(
        body["access_token"],
        jwks,
        algorithms=["RS256"],
        audience=live_service.url,
        issuer=live_service.url,
    )
    assert claims["sub"] == str(policy.agent_id)
    assert claims["tenant"] == str(policy.tenant_id)
    assert claims["act"]["repository"] == "org/repo-a"
    assert ExchangeRecord.objects.get().reason == "accepted"


def test_other_repository_denied(live_service, local_issuer, policy):
    subject_token = local_issuer.mint(aud=AUDIENCE, repository="org/repo-b")

    response = post_token(live_service, subject_token, policy.agent_id)

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "access_denied"
    assert response.json()["reason"] == "no_matching_policy"
    assert "'org/repo-b'" in response.json()["error_description"]
    record = ExchangeRecord.objects.get()
    assert record.detail_reason == "repository_mismatch"
    assert subject_token not in record_text(record)


def test_replay_rejected(live_service, local_issuer, policy):
    subject_token = local_issuer.mint(aud=AUDIENCE)

    # Each request may reach another gunicorn worker: the database decides.
    responses = [
        post_token(live_service, subject_token, policy.agent_id) for _ in range(4)
    ]

    statuses = [response.status_code for response in responses]
    assert statuses == [200, 401, 401, 401], [r.text for r in responses]
    assert {r.json()["reason"] for r in responses[1:]} == {"token_replayed"}
    assert ExchangeRecord.objects.filter(reason="token_replayed").count() == 3


def test_concurrent_replay_one_token(live_service, local_issuer, policy):
    subject_token = local_issuer.mint(aud=AUDIENCE)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda _: post_token(live_service, subject_token, policy.agent_id),
                range(8),
            )
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * 7, [r.text for r in responses]
    assert ExchangeRecord.objects.filter(reason="accepted").count() == 1
    assert ExchangeRecord.objects.filter(reason="token_replayed").count() == 7


def test_disabled_agent_denied(live_service, local_issuer, policy):
    accepted = post_token(
        live_service, local_issuer.mint(aud=AUDIENCE), policy.agent_id
    )
    Agent.objects.filter(pk=policy.agent_id).update(status=Agent.Status.DISABLED)

    response = post_token(
        live_service, local_issuer.mint(aud=AUDIENCE), policy.agent_id
    )

    assert accepted.status_code == 200, accepted.text
    assert response.status_code == 403, response.text
    assert response.json()["reason"] == "no_matching_policy"
    record = ExchangeRecord.objects.get(status_code=403)
    assert record.detail_reason == "agent_disabled"


def test_jwks_endpoint(live_service):
    response = requests.get(f"{live_service.url}/.well-known/jwks.json", timeout=10)
    keys = response.json()["keys"]

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert len(keys) >= 1
    assert {key["kty"] for key in keys} == {"RSA"}
    assert {key["use"] for key in keys} == {"sig"}
    assert {key["alg"] for key in keys} == {"RS256"}
    assert all(key["kid"] for key in keys)
    # Only public parameters: no private exponent or CRT values.
    assert not any({"d", "p", "q", "dp", "dq", "qi"} & set(key) for key in keys)


def test_metadata_endpoint(live_service):
    response = requests.get(
        f"{live_service.url}/.well-known/oauth-authorization-server", timeout=10
    )
    metadata = response.json()

    assert response.status_code == 200
    assert metadata["issuer"] == live_service.url
    assert metadata["token_endpoint"] == f"{live_service.url}/oidc/token"
    assert metadata["jwks_uri"] == f"{live_service.url}/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == [
        "urn:ietf:params:oauth:grant-type:token-exchange"
    ]


def test_audience_endpoint(live_service):
    response = requests.get(f"{live_service.url}/oidc/audience", timeout=10)

    assert response.status_code == 200
    assert response.json() == {"audience": AUDIENCE}


@pytest.mark.parametrize(
    "path",
    ["/oidc/token/", "/.well-known/jwks.json/", "/oidc/audience/"],
)
def test_trailing_slash_not_found(live_service, path):
    response = requests.get(f"{live_service.url}{path}", timeout=10)

    assert response.status_code == 404
