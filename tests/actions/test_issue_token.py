"""issue-token against the real service under gunicorn."""

import calendar
import re
import time
import uuid

import pytest

from tests.actions.harness import run_script

pytestmark = pytest.mark.django_db(transaction=True)

ISO_8601_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def issue(live_service, token_endpoint, tmp_path, agent_id):
    return run_script(
        "issue-token",
        tmp_path,
        token_endpoint,
        SENTRYAGENT_API_URL=live_service.url,
        SENTRYAGENT_AGENT_ID=str(agent_id),
    )


def assert_failed(run, *fragments):
    """Check that the run failed with one annotation containing every fragment."""
    assert run.returncode == 1, run.stdout
    message = run.error()
    for fragment in fragments:
        assert fragment in message
    assert "issue-token:" in run.summary
    assert "access-token" not in run.outputs


def test_issue_outputs_token_and_expiry(live_service, token_endpoint, policy, tmp_path):
    before = time.time()

    run = issue(live_service, token_endpoint, tmp_path, policy.agent_id)

    assert run.returncode == 0, run.stdout
    assert run.outputs["access-token"].count(".") == 2
    expires_at = run.outputs["expires-at"]
    assert ISO_8601_UTC.match(expires_at)
    expiry = calendar.timegm(time.strptime(expires_at, "%Y-%m-%dT%H:%M:%SZ"))
    assert before + 800 <= expiry <= time.time() + 901
    assert (
        f"Issued an access token for agent {policy.agent_id}; it expires at "
        f"{expires_at}." in run.lines
    )


def test_issue_accepts_upper_case_agent_id(
    live_service, token_endpoint, policy, tmp_path
):
    run = issue(live_service, token_endpoint, tmp_path, str(policy.agent_id).upper())

    assert run.returncode == 0, run.stdout


def test_issue_denied_for_other_repository(
    live_service, token_endpoint, policy, tmp_path
):
    token_endpoint.claim_overrides = {"repository": "org/repo-b"}

    run = issue(live_service, token_endpoint, tmp_path, policy.agent_id)

    assert_failed(
        run,
        "HTTP 403, error access_denied, reason no_matching_policy",
        "No enabled trust policy allows repository 'org/repo-b'",
        "repository org/repo-b, ref refs/heads/main, event push",
        f"{live_service.url}/admin/policies/trustpolicy/add/",
        "choose the agent",
        f"curl -X POST {live_service.url}/oidc/trust-policies",
        '{"provider": "github", "repository": "org/repo-b", "branch": "main", '
        f'"agentId": "{policy.agent_id}"}}',
    )


def test_issue_denied_for_tag_suggests_no_branch(
    live_service, token_endpoint, policy, tmp_path
):
    token_endpoint.claim_overrides = {"ref": "refs/tags/v1.0.0"}

    run = issue(live_service, token_endpoint, tmp_path, policy.agent_id)

    assert_failed(
        run,
        "ref refs/tags/v1.0.0",
        f'{{"provider": "github", "repository": "org/repo-a", "agentId": '
        f'"{policy.agent_id}"}}',
    )


def test_issue_denied_for_unknown_agent(live_service, token_endpoint, tmp_path):
    run = issue(live_service, token_endpoint, tmp_path, uuid.uuid4())

    assert_failed(run, "reason no_matching_policy")


def test_issue_expired_token_is_401(live_service, token_endpoint, policy, tmp_path):
    now = int(time.time())
    token_endpoint.claim_overrides = {"iat": now - 900, "nbf": now - 900}
    token_endpoint.claim_overrides["exp"] = now - 600

    run = issue(live_service, token_endpoint, tmp_path, policy.agent_id)

    assert_failed(run, "(HTTP 401, error invalid_grant, reason token_expired)")


def test_issue_gets_new_github_token_each_run(
    live_service, token_endpoint, policy, tmp_path
):
    first = issue(live_service, token_endpoint, tmp_path / "first", policy.agent_id)
    second = issue(live_service, token_endpoint, tmp_path / "second", policy.agent_id)

    assert first.returncode == 0, first.stdout
    assert second.returncode == 0, second.stdout
    assert len(set(token_endpoint.minted)) == 2
