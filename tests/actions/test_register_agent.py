"""register-agent against the real service under gunicorn."""

import time

import pytest

from agents.models import Agent
from tests import factories
from tests.actions.harness import run_script

pytestmark = pytest.mark.django_db(transaction=True)


def register(live_service, token_endpoint, tmp_path, name="release-bot", **inputs):
    variables = {
        "SENTRYAGENT_API_URL": live_service.url,
        "SENTRYAGENT_AGENT_NAME": name,
        **inputs,
    }
    return run_script("register-agent", tmp_path, token_endpoint, **variables)


def assert_failed(run, *fragments):
    """Check that the run failed with one annotation containing every fragment."""
    assert run.returncode == 1, run.stdout
    message = run.error()
    for fragment in fragments:
        assert fragment in message
    assert "docs/troubleshooting.md#" in message
    assert "register-agent:" in run.summary


def test_register_creates_agent(
    live_service, token_endpoint, registration_policy, tmp_path
):
    run = register(
        live_service,
        token_endpoint,
        tmp_path,
        SENTRYAGENT_AGENT_DESCRIPTION="Publishes releases",
    )

    assert run.returncode == 0, run.stdout
    assert run.outputs["created"] == "true"
    agent = Agent.objects.get(pk=run.outputs["agent-id"])
    assert agent.name == "release-bot"
    assert agent.tenant == registration_policy.tenant
    assert agent.description == "Publishes releases"
    assert agent.registered_repository == "org/repo-a"
    assert f"Registered agent release-bot with id {agent.pk}." in run.lines


def test_register_rerun_returns_same_agent(
    live_service, token_endpoint, registration_policy, tmp_path
):
    first = register(live_service, token_endpoint, tmp_path / "first")
    second = register(live_service, token_endpoint, tmp_path / "second")

    assert second.returncode == 0, second.stdout
    assert second.outputs["agent-id"] == first.outputs["agent-id"]
    assert second.outputs["created"] == "false"
    assert Agent.objects.filter(name="release-bot").count() == 1
    assert any("reusing id" in line for line in second.lines)


def test_register_sends_requested_audience(
    live_service, token_endpoint, registration_policy, tmp_path
):
    run = register(live_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    request = token_endpoint.requests[0]
    assert request.audiences == ["http://127.0.0.1:8000"]
    assert "api-version=2.0" in request.path
    assert request.authorization == f"bearer {token_endpoint.bearer_token}"


def test_register_denied_without_policy(live_service, token_endpoint, tenant, tmp_path):
    run = register(live_service, token_endpoint, tmp_path)

    assert_failed(
        run,
        "HTTP 403, error access_denied, reason no_matching_policy",
        # The server's own description, then what the token presented.
        "No enabled registration policy allows repository 'org/repo-a'",
        "repository org/repo-a, ref refs/heads/main, event push",
        # How to add the policy, in the admin and with the API.
        f"{live_service.url}/admin/policies/trustpolicy/add/",
        "leave Agent empty",
        f"curl -X POST {live_service.url}/oidc/trust-policies",
        '"Authorization: Token $SENTRYAGENT_API_TOKEN"',
        '{"provider": "github", "repository": "org/repo-a", "branch": "main"}',
    )
    assert "No registration trust policy (HTTP 403)" in run.summary


def test_register_denied_pull_request_target_explains_opt_in(
    live_service, token_endpoint, registration_policy, tmp_path
):
    token_endpoint.claim_overrides = {"event_name": "pull_request_target"}

    run = register(live_service, token_endpoint, tmp_path)

    assert_failed(
        run,
        "event pull_request_target",
        '"allowedEvents": ["pull_request_target"]',
    )


def test_register_name_taken(
    live_service, token_endpoint, registration_policy, tenant, tmp_path
):
    factories.make_agent(tenant, "release-bot")

    run = register(live_service, token_endpoint, tmp_path)

    assert_failed(
        run,
        "HTTP 409, error invalid_request, reason agent_name_taken",
        "Choose another agent-name",
    )


def test_register_ambiguous_tenant_then_tenant_input(
    live_service, token_endpoint, registration_policy, tmp_path
):
    other = factories.make_tenant("globex")
    factories.make_policy(tenant=other, repository="org/repo-a")

    ambiguous = register(live_service, token_endpoint, tmp_path / "ambiguous")
    chosen = register(
        live_service, token_endpoint, tmp_path / "chosen", SENTRYAGENT_TENANT="globex"
    )

    assert_failed(
        ambiguous,
        "reason ambiguous_tenant",
        "Set the tenant input",
        "tenant: your-tenant-slug",
    )
    assert chosen.returncode == 0, chosen.stdout
    assert Agent.objects.get(pk=chosen.outputs["agent-id"]).tenant == other


def test_register_expired_token_is_401(
    live_service, token_endpoint, registration_policy, tmp_path
):
    now = int(time.time())
    token_endpoint.claim_overrides = {"iat": now - 900, "nbf": now - 900}
    token_endpoint.claim_overrides["exp"] = now - 600

    run = register(live_service, token_endpoint, tmp_path)

    assert_failed(
        run,
        "SentryAgent rejected the job's GitHub OIDC token (HTTP 401",
        "reason token_expired",
        "The clock of the runner or of the service is off.",
    )


def test_register_invalid_name_is_400_without_retry(
    live_service, token_endpoint, registration_policy, tmp_path
):
    run = register(live_service, token_endpoint, tmp_path, name="no spaces allowed")

    assert_failed(run, "HTTP 400, error invalid_request, reason invalid_parameter")
    assert len(token_endpoint.minted) == 1
