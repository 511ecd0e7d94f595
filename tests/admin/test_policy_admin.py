"""The trust policy admin: the API's field rules, the any-ref warning, actions."""

import pytest

from policies.models import TrustPolicy
from tests import factories

POLICIES = "/admin/policies/trustpolicy/"


def policy_form(for_agent, **fields) -> dict:
    form = {
        "provider": "github",
        "repository": "org/repo-b",
        "branch": "main",
        "agent": str(for_agent.pk),
        "enabled": "on",
        "description": "",
        "repository_id": "",
        "repository_owner_id": "",
    }
    form.update(fields)
    return {name: value for name, value in form.items() if value is not None}


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


# Each case: field, posted value, the message policies/validation.py gives.
INVALID_FIELDS = [
    (
        "provider",
        "gitlab",
        "Unsupported provider 'gitlab'. The only allowed value is 'github'.",
    ),
    (
        "repository",
        "https://github.com/org/repo",
        "Invalid repository 'https://github.com/org/repo'. Write it as "
        "'owner/name', as in 'octo-org/deploy-tools', with no URL, spaces or "
        "extra slashes.",
    ),
    (
        "repository",
        "org/repo.git",
        "Invalid repository 'org/repo.git'. Leave out the '.git' suffix: 'org/repo'.",
    ),
    (
        "branch",
        "refs/heads/main",
        "Invalid branch 'refs/heads/main'. Give the branch name alone, such as "
        "'main', without the 'refs/' prefix.",
    ),
    (
        "repository_id",
        "R_kgDO",
        "Invalid GitHub id 'R_kgDO'. Use the decimal number that GitHub shows "
        "for the repository or owner, such as '514238596', or leave it empty to "
        "record it on the first match.",
    ),
    (
        "allowed_events",
        "pull_request",
        "Unsupported events ['pull_request']. Only events that are denied by "
        "default can be listed: pull_request_target, workflow_run.",
    ),
]


@pytest.mark.parametrize("field, value, message", INVALID_FIELDS)
def test_invalid_field_rejected(field, value, message, agent, admin_client):
    response = admin_client.post(
        f"{POLICIES}add/", policy_form(agent, **{field: value})
    )

    assert form_errors(response)[field] == [message]
    assert not TrustPolicy.objects.filter(repository="org/repo-b").exists()


def test_valid_policy_created(agent, admin_client):
    response = admin_client.post(
        f"{POLICIES}add/",
        policy_form(agent, allowed_events=["workflow_run"], repository_id="123"),
    )

    assert response.status_code == 302
    policy = TrustPolicy.objects.get(repository="org/repo-b")
    assert policy.agent == agent
    assert policy.allowed_events == ["workflow_run"]
    assert policy.repository_id == "123"
    assert policy.tenant == agent.tenant


def test_registration_policy_without_agent(agent, admin_client):
    response = admin_client.post(
        f"{POLICIES}add/", policy_form(agent, agent="", branch="")
    )

    assert response.status_code == 302
    policy = TrustPolicy.objects.get(repository="org/repo-b")
    assert policy.agent is None


def test_list_columns(policy, admin_client):
    response = admin_client.get(POLICIES)

    html = response.content.decode()
    for column in (
        "repository",
        "branch_or_warning",
        "agent_or_registration",
        "enabled",
        "last_used",
        "pinned_ids",
    ):
        assert f"column-{column}" in html, column
    assert "column-tenant" not in html


def test_list_search_by_repository(agent, admin_client):
    factories.make_policy(agent, repository="org/repo-b")
    factories.make_policy(agent, repository="org/other")

    response = admin_client.get(POLICIES, {"q": "repo-b"})

    assert [p.repository for p in response.context["cl"].result_list] == ["org/repo-b"]


def test_list_filters_by_agent_and_enabled(agent, tenant, admin_client):
    other_agent = factories.make_agent(tenant, "releaser")
    factories.make_policy(agent, repository="org/a")
    factories.make_policy(agent, repository="org/b", enabled=False)
    factories.make_policy(other_agent, repository="org/c")

    by_agent = admin_client.get(POLICIES, {"agent__id__exact": str(other_agent.pk)})
    disabled = admin_client.get(POLICIES, {"enabled__exact": "0"})

    assert [p.repository for p in by_agent.context["cl"].result_list] == ["org/c"]
    assert [p.repository for p in disabled.context["cl"].result_list] == ["org/b"]


def test_any_ref_warning_in_list(agent, admin_client):
    factories.make_policy(agent, repository="org/wide", branch="")

    html = admin_client.get(POLICIES).content.decode()

    assert "any branch, tag or pull request" in html


def test_any_ref_warning_on_change_page(agent, admin_client):
    policy = factories.make_policy(agent, repository="org/wide", branch="")

    response = admin_client.get(f"{POLICIES}{policy.pk}/change/")

    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        "No branch is set: every branch, tag and pull request of org/wide may use "
        "this policy. Set a branch to limit it."
    ]
    assert "Every branch, tag and pull request of org/wide" in response.content.decode()


def test_no_warning_with_branch(policy, admin_client):
    response = admin_client.get(f"{POLICIES}{policy.pk}/change/")

    assert list(response.context["messages"]) == []
    assert (
        "Workflows on branch main of org/repo-a may get tokens for agent deployer"
        in (response.content.decode())
    )


@pytest.mark.parametrize(
    "action, enabled_before, enabled_after",
    [("disable_policies", True, False), ("enable_policies", False, True)],
)
def test_enable_disable_actions(
    action, enabled_before, enabled_after, agent, admin_client
):
    policy = factories.make_policy(agent, enabled=enabled_before)

    response = admin_client.post(
        POLICIES, {"action": action, "_selected_action": [str(policy.pk)]}
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.enabled is enabled_after


def test_tenant_field_hidden_for_tenant_admin(admin_client):
    html = admin_client.get(f"{POLICIES}add/").content.decode()

    assert 'type="hidden" name="tenant"' in html
    assert '<select name="tenant"' not in html
