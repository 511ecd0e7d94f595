"""Introspection and revocation of access tokens, and signing key rotation."""

import time

import pytest
import time_machine
from django.core.management import call_command
from jose import jwt
from rest_framework.test import APIClient

from oidc_exchange.models import SigningKey
from tests import factories
from tests.conftest import AUDIENCE, exchange_params


def issue_access_token(client, issuer, agent) -> str:
    response = client.post(
        "/oidc/token",
        exchange_params(issuer.mint(aud=AUDIENCE), agent.pk),
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def introspect(api_client, token: str) -> dict:
    response = api_client.post("/oidc/introspect", {"token": token}, format="json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def access_token(issuer, policy):
    return issue_access_token(APIClient(), issuer, policy.agent)


@pytest.fixture
def other_tenant_client(db):
    other = factories.make_tenant("globex")
    client = APIClient()
    token = factories.make_api_token(factories.make_tenant_admin(other))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_introspect_active_token(api_client, access_token, policy):
    body = introspect(api_client, access_token)

    assert body["active"] is True
    assert body["sub"] == str(policy.agent_id)
    assert body["tenant"] == str(policy.tenant_id)
    assert body["token_type"] == "Bearer"
    assert body["act"]["repository"] == "org/repo-a"


def test_introspect_other_tenant_inactive(other_tenant_client, access_token):
    assert introspect(other_tenant_client, access_token) == {"active": False}


def test_introspect_expired_inactive(api_client, access_token):
    with time_machine.travel(time.time() + 901, tick=False):
        assert introspect(api_client, access_token) == {"active": False}


def test_introspect_disabled_agent_inactive(api_client, access_token, agent):
    agent.status = agent.Status.DISABLED
    agent.save()

    assert introspect(api_client, access_token) == {"active": False}


def test_introspect_deleted_agent_inactive(api_client, access_token, agent):
    agent.delete()

    assert introspect(api_client, access_token) == {"active": False}


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b.c", "x" * 9000],
    ids=["empty", "garbage", "three-parts", "oversized"],
)
def test_introspect_invalid_token(api_client, token):
    response = api_client.post("/oidc/introspect", {"token": token}, format="json")

    if token:
        assert response.json() == {"active": False}
    else:
        assert response.status_code == 400
        assert response.json()["reason"] == "missing_parameter"


def test_introspect_foreign_signature_inactive(api_client, access_token, issuer):
    claims = jwt.get_unverified_claims(access_token)
    kid = jwt.get_unverified_header(access_token)["kid"]
    forged = jwt.encode(
        claims, issuer.keys[issuer.active_kid], algorithm="RS256", headers={"kid": kid}
    )

    assert introspect(api_client, forged) == {"active": False}


def test_introspect_requires_api_token(access_token):
    response = APIClient().post("/oidc/introspect", {"token": access_token})

    assert response.status_code == 401


def test_revoke_makes_token_inactive(api_client, access_token):
    response = api_client.post("/oidc/revoke", {"token": access_token}, format="json")

    assert response.status_code == 200
    assert introspect(api_client, access_token) == {"active": False}


def test_revoke_other_tenant_no_effect(api_client, other_tenant_client, access_token):
    response = other_tenant_client.post(
        "/oidc/revoke", {"token": access_token}, format="json"
    )

    assert response.status_code == 200
    assert introspect(api_client, access_token)["active"] is True


def test_revoke_invalid_token_200(api_client):
    response = api_client.post("/oidc/revoke", {"token": "not-a-jwt"}, format="json")

    assert response.status_code == 200


def test_rotation_keeps_old_tokens_valid(api_client, issuer, policy):
    client = APIClient()
    before = issue_access_token(client, issuer, policy.agent)

    call_command("rotate_signing_key")
    after = issue_access_token(client, issuer, policy.agent)
    jwks = client.get("/.well-known/jwks.json").json()

    old_kid = jwt.get_unverified_header(before)["kid"]
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert old_kid != new_kid
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, new_kid}
    for token in (before, after):
        claims = jwt.decode(
            token, jwks, algorithms=["RS256"], audience=AUDIENCE, issuer=AUDIENCE
        )
        assert claims["sub"] == str(policy.agent_id)
        assert introspect(api_client, token)["active"] is True


def test_retired_key_leaves_jwks_after_lifetime(issuer, policy):
    client = APIClient()
    token = issue_access_token(client, issuer, policy.agent)
    old_kid = jwt.get_unverified_header(token)["kid"]
    call_command("rotate_signing_key")

    with time_machine.travel(time.time() + 901, tick=False):
        kids = {
            key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]
        }

    assert old_kid not in kids
    assert len(kids) == 1


def test_es256_signing_by_setting(settings, issuer, policy):
    settings.SENTRYAGENT_SIGNING_ALGORITHM = "ES256"
    call_command("rotate_signing_key")
    client = APIClient()

    token = issue_access_token(client, issuer, policy.agent)
    jwks = client.get("/.well-known/jwks.json").json()

    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert SigningKey.objects.get(state="active").algorithm == "ES256"
    claims = jwt.decode(
        token, jwks, algorithms=["ES256"], audience=AUDIENCE, issuer=AUDIENCE
    )
    assert claims["sub"] == str(policy.agent_id)


def test_health_endpoints(client, db):
    live = client.get("/healthz")
    ready = client.get("/readyz")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_metadata_lists_endpoints(client, db):
    metadata = client.get("/.well-known/oauth-authorization-server").json()

    assert metadata["token_endpoint"] == f"{AUDIENCE}/oidc/token"
    assert metadata["introspection_endpoint"] == f"{AUDIENCE}/oidc/introspect"
    assert metadata["revocation_endpoint"] == f"{AUDIENCE}/oidc/revoke"
    assert metadata["jwks_uri"] == f"{AUDIENCE}/.well-known/jwks.json"
