"""Both actions in one job, against the real service under gunicorn."""

import pytest
import requests
from jose import jwt

from tests.actions.harness import run_composite

pytestmark = pytest.mark.django_db(transaction=True)


def test_register_then_issue_in_one_job(
    live_service, token_endpoint, registration_policy, tmp_path
):
    registered = run_composite(
        "register-agent",
        tmp_path / "register",
        token_endpoint,
        {"api-url": live_service.url, "agent-name": "release-bot"},
    )
    assert registered.returncode == 0, registered.stdout
    agent_id = registered.outputs["agent-id"]
    assert registered.outputs["created"] == "true"

    issued = run_composite(
        "issue-token",
        tmp_path / "issue",
        token_endpoint,
        {"api-url": live_service.url, "agent-id": agent_id},
    )

    assert issued.returncode == 0, issued.stdout
    jwks = requests.get(f"{live_service.url}/.well-known/jwks.json", timeout=10)
    claims = jwt.decode(
        issued.outputs["access-token"],
        jwks.json(),
        algorithms=["RS256"],
        audience=live_service.url,
        issuer=live_service.url,
    )
    assert claims["sub"] == agent_id
    assert claims["act"]["repository"] == "org/repo-a"
    assert issued.outputs["expires-at"].endswith("Z")
