"""The exchange log admin and the agent page's policies and recent exchanges."""

import re

import pytest

from agents.models import Agent
from oidc_exchange.models import ExchangeRecord
from policies.models import TrustPolicy
from tests import factories
from tests.admin.conftest import make_record

AGENTS = "/admin/agents/agent/"
RECORDS = "/admin/oidc_exchange/exchangerecord/"


def denial(policy, **fields) -> ExchangeRecord:
    checks = {
        "policy_enabled": False,
        "provider": True,
        "repository": True,
        "repository_id": True,
        "repository_owner_id": True,
        "branch": True,
    }
    values = {
        "outcome": ExchangeRecord.Outcome.DENIED,
        "status_code": 403,
        "reason": "no_matching_policy",
        "detail_reason": "policy_disabled",
        "checks": [{"policy": str(policy.pk), "checks": checks}],
    }
    values.update(fields)
    return make_record(policy.agent, policy, **values)


def text(html: str) -> str:
    """Return the page's text with tags and repeated spaces removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# The log list


def test_list_columns(policy, admin_client):
    make_record(policy.agent, policy)

    html = admin_client.get(RECORDS).content.decode()

    for column in (
        "time",
        "outcome_label",
        "reason_label",
        "repository",
        "ref_and_event",
        "run_id",
        "agent",
        "policy",
    ):
        assert f"column-{column}" in html, column
    assert "accepted 200" in text(html)


def test_list_filters(policy, tenant, admin_client):
    make_record(policy.agent, policy)
    denial(policy)
    other_agent = factories.make_agent(tenant, "releaser")
    make_record(other_agent, run_id="7")

    denied = admin_client.get(RECORDS, {"outcome__exact": "denied"})
    by_reason = admin_client.get(RECORDS, {"reason": "no_matching_policy"})
    by_agent = admin_client.get(RECORDS, {"agent__id__exact": str(other_agent.pk)})

    assert [r.reason for r in denied.context["cl"].result_list] == [
        "no_matching_policy"
    ]
    assert len(by_reason.context["cl"].result_list) == 1
    assert [r.run_id for r in by_agent.context["cl"].result_list] == ["7"]


def test_list_has_date_hierarchy(policy, admin_client):
    make_record(policy.agent, policy)

    html = admin_client.get(RECORDS).content.decode()

    assert "created_at__year=" in html


# Read-only


def test_log_is_read_only(policy, admin_client):
    record = make_record(policy.agent, policy)

    assert admin_client.get(f"{RECORDS}add/").status_code == 403
    assert admin_client.post(f"{RECORDS}{record.pk}/change/", {}).status_code == 403
    assert admin_client.get(f"{RECORDS}{record.pk}/delete/").status_code == 403
    html = admin_client.get(f"{RECORDS}{record.pk}/change/").content.decode()
    assert 'name="_save"' not in html


# The detail of a denial


def test_denial_shows_checks(policy, admin_client):
    record = denial(policy)

    html = admin_client.get(f"{RECORDS}{record.pk}/change/").content.decode()

    page = text(html)
    assert "failed check: policy_disabled" in page
    assert "policy_enabled FAILED" in page
    for name in ("provider", "repository", "repository_id", "branch"):
        assert f"{name} passed" in page, name
    assert f"/admin/policies/trustpolicy/{policy.pk}/change/" in html


def test_checks_in_matching_order(policy, admin_client):
    record = denial(policy)
    # PostgreSQL's jsonb does not keep key order, so store them reversed.
    record.checks = [
        {
            "policy": str(policy.pk),
            "checks": dict(reversed(record.checks[0]["checks"].items())),
        }
    ]
    record.save()

    page = text(admin_client.get(f"{RECORDS}{record.pk}/change/").content.decode())

    assert page.index("policy_enabled FAILED") < page.index("branch passed")


def test_denial_hides_other_tenant_policies(policy, admin_client):
    stranger = factories.make_policy(
        factories.make_agent(factories.make_tenant("globex"), "spy"),
        repository="org/repo-a",
    )
    record = denial(policy)
    record.checks.append(
        {"policy": str(stranger.pk), "checks": {"policy_enabled": True}}
    )
    record.save()

    html = admin_client.get(f"{RECORDS}{record.pk}/change/").content.decode()

    assert str(stranger.pk) not in html
    assert "spy" not in html
    assert "1 evaluated policy not shown" in html


def test_no_policy_evaluated(agent, admin_client):
    record = make_record(
        agent,
        outcome="denied",
        status_code=403,
        reason="no_matching_policy",
        detail_reason="agent_disabled",
    )

    page = text(admin_client.get(f"{RECORDS}{record.pk}/change/").content.decode())

    assert "No trust policy was evaluated." in page
    assert "failed check: agent_disabled" in page


# The agent page


def agent_form(agent, **fields) -> dict:
    form = {
        "name": agent.name,
        "description": agent.description,
        "status": agent.status,
        "trust_policies-TOTAL_FORMS": "0",
        "trust_policies-INITIAL_FORMS": "0",
    }
    form.update(fields)
    return form


def test_agent_page_lists_policies(policy, admin_client):
    html = admin_client.get(f"{AGENTS}{policy.agent_id}/change/").content.decode()

    assert 'value="org/repo-a"' in html
    assert f"/admin/policies/trustpolicy/{policy.pk}/change/" in html


def test_agent_page_adds_policy_inline(agent, tenant, admin_client):
    response = admin_client.post(
        f"{AGENTS}{agent.pk}/change/",
        agent_form(
            agent,
            **{
                "trust_policies-TOTAL_FORMS": "1",
                "trust_policies-0-provider": "github",
                "trust_policies-0-repository": "org/inline",
                "trust_policies-0-branch": "main",
                "trust_policies-0-enabled": "on",
            },
        ),
    )

    assert response.status_code == 302
    policy = TrustPolicy.objects.get(repository="org/inline")
    assert policy.agent == agent
    assert policy.tenant == tenant
    assert policy.created_by.username == "acme-admin"


def test_agent_page_inline_uses_policy_rules(agent, admin_client):
    response = admin_client.post(
        f"{AGENTS}{agent.pk}/change/",
        agent_form(
            agent,
            **{
                "trust_policies-TOTAL_FORMS": "1",
                "trust_policies-0-provider": "github",
                "trust_policies-0-repository": "not a repository",
                "trust_policies-0-branch": "",
            },
        ),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors[0]["repository"][0].startswith(
        "Invalid repository 'not a repository'."
    )
    assert not TrustPolicy.objects.exists()


def test_agent_page_shows_last_20_exchanges(policy, admin_client):
    for run in range(25):
        make_record(policy.agent, policy, run_id=str(1000 + run))
    make_record(factories.make_agent(policy.tenant, "releaser"), run_id="9999")

    html = admin_client.get(f"{AGENTS}{policy.agent_id}/change/").content.decode()

    shown = [run for run in range(25) if f"<td>{1000 + run}</td>" in html]
    assert shown == list(range(5, 25))
    assert "<td>9999</td>" not in html
    assert f"?agent__id__exact={policy.agent_id}" in html


def test_agent_add_page_has_no_exchanges(admin_client):
    html = admin_client.get(f"{AGENTS}add/").content.decode()

    assert "None yet." in html


@pytest.mark.parametrize(
    "action, status_before, status_after",
    [
        ("disable_agents", Agent.Status.ACTIVE, Agent.Status.DISABLED),
        ("enable_agents", Agent.Status.DISABLED, Agent.Status.ACTIVE),
    ],
)
def test_agent_actions(action, status_before, status_after, tenant, admin_client):
    agent = factories.make_agent(tenant, "bot", status=status_before)

    admin_client.post(AGENTS, {"action": action, "_selected_action": [str(agent.pk)]})

    agent.refresh_from_db()
    assert agent.status == status_after


def test_agent_created_in_admin(tenant, tenant_admin, admin_client):
    response = admin_client.post(
        f"{AGENTS}add/",
        {
            "name": "builder",
            "description": "Builds releases.",
            "status": "active",
            "trust_policies-TOTAL_FORMS": "0",
            "trust_policies-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    agent = Agent.objects.get(name="builder")
    assert agent.tenant == tenant
    assert agent.registered_via == Agent.RegisteredVia.ADMIN
    assert agent.registered_by == tenant_admin
