"""The exchange through gunicorn, as a GitHub Actions job would call it."""

import pytest
import requests
from jose import jwt

from tests.conftest import AUDIENCE, exchange_params

pytestmark = pytest.mark.django_db(transaction=True)


def test_exchange_accepted_and_verifiable(live_service, local_issuer, policy):
    subject_token = local_issuer.mint(aud=AUDIENCE)

    response = requests.post(
        f"{live_service.url}/oidc/token",
        data=exchange_params(subject_token, policy.agent_id),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    jwks = requests.get(f"{live_service.url}/.well-known/jwks.json", timeout=10).json()
    claims = jwt.decode(
        body["access_token"],
        jwks,
        algorithms=["RS256"],
        audience=live_service.url,
        issuer=live_service.url,
    )
    assert claims["sub"] == str(policy.agent_id)
