"""Secrets are masked before anything that contains them is printed.

The secrets are the runner's request token, every GitHub OIDC token the
action obtains, and the access token. Each must appear on its ``::add-mask::``
line and nowhere else in the output, the summary or the outputs.
"""

import pytest

from tests.actions.harness import ActionRun, Reply, run_script
from tests.actions.test_failures import AGENT_ID, error_body

pytestmark = pytest.mark.django_db(transaction=True)


def lines_containing(run: ActionRun, secret: str) -> list[str]:
    return [line for line in run.lines if secret in line]


def assert_only_on_mask_line(run: ActionRun, secret: str) -> None:
    """Check that the secret was masked and then printed nowhere else."""
    containing = lines_containing(run, secret)
    assert containing, "the secret was never masked"
    assert set(containing) == {f"::add-mask::{secret}"}
    assert secret not in run.stderr
    assert secret not in run.summary


def test_secrets_masked_in_register_and_issue(
    live_service, token_endpoint, registration_policy, tmp_path
):
    github_env = tmp_path / "github_env"
    github_env.touch()
    common = {"SENTRYAGENT_API_URL": live_service.url, "GITHUB_ENV": str(github_env)}
    registered = run_script(
        "register-agent",
        tmp_path / "register",
        token_endpoint,
        SENTRYAGENT_AGENT_NAME="release-bot",
        **common,
    )
    issued = run_script(
        "issue-token",
        tmp_path / "issue",
        token_endpoint,
        SENTRYAGENT_AGENT_ID=registered.outputs["agent-id"],
        **common,
    )

    assert issued.returncode == 0, issued.stdout
    access_token = issued.outputs["access-token"]
    register_token, issue_token = token_endpoint.minted
    for run, github_token in ((registered, register_token), (issued, issue_token)):
        assert_only_on_mask_line(run, token_endpoint.bearer_token)
        assert_only_on_mask_line(run, github_token)
        assert github_token not in run.output_file
    assert_only_on_mask_line(issued, access_token)
    assert github_env.read_text() == ""


def test_access_token_masked_before_outputs_written(
    live_service, token_endpoint, policy, tmp_path
):
    run = run_script(
        "issue-token",
        tmp_path,
        token_endpoint,
        SENTRYAGENT_API_URL=live_service.url,
        SENTRYAGENT_AGENT_ID=str(policy.agent_id),
    )

    access_token = run.outputs["access-token"]
    mask_line = run.lines.index(f"::add-mask::{access_token}")
    issued_line = next(
        index
        for index, line in enumerate(run.lines)
        if line.startswith("Issued an access token")
    )
    assert mask_line < issued_line


def test_github_token_masked_when_denied(
    live_service, token_endpoint, tenant, tmp_path
):
    run = run_script(
        "register-agent",
        tmp_path,
        token_endpoint,
        SENTRYAGENT_API_URL=live_service.url,
        SENTRYAGENT_AGENT_NAME="release-bot",
    )

    assert run.returncode == 1
    (github_token,) = token_endpoint.minted
    assert_only_on_mask_line(run, github_token)


def test_token_echoed_by_server_is_masked_first(stub_service, token_endpoint, tmp_path):
    # A server that copies the subject token into its error description. The
    # action replaces the token with *** itself, besides the runner's mask.
    def echo_token() -> Reply:
        token = token_endpoint.minted[-1]
        body = error_body("invalid_grant", "bad_signature", f"Bad token {token}")
        return Reply(401, body)

    stub_service.reply_factories["/oidc/token"] = echo_token

    run = run_script(
        "issue-token",
        tmp_path,
        token_endpoint,
        SENTRYAGENT_API_URL=stub_service.url,
        SENTRYAGENT_AGENT_ID=AGENT_ID,
    )

    assert run.returncode == 1
    (github_token,) = token_endpoint.minted
    assert_only_on_mask_line(run, github_token)
    assert "Bad token ***" in run.error()
