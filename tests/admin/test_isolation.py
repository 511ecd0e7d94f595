"""A tenant admin reaches only their own tenant's rows in the Django admin.

The second tenant's admin tries the first tenant's agent, trust policy and
exchange record by list page, by URL and by tampered form posts.
"""

import re

import pytest

from agents.models import Agent
from policies.models import TrustPolicy
from tests import factories
from tests.admin.conftest import make_record, signed_in

AGENTS = "/admin/agents/agent/"
POLICIES = "/admin/policies/trustpolicy/"
RECORDS = "/admin/oidc_exchange/exchangerecord/"


@pytest.fixture
def victim(policy):
    """The first tenant's agent, policy and exchange record."""
    record = make_record(policy.agent, policy, repository="org/secret-repo")
    return {"agent": policy.agent, "policy": policy, "record": record}


def policy_form(agent_id, **fields) -> dict:
    form = {
        "provider": "github",
        "repository": "globex/app",
        "branch": "main",
        "agent": str(agent_id) if agent_id else "",
        "enabled": "on",
        "description": "",
        "repository_id": "",
        "repository_owner_id": "",
    }
    form.update(fields)
    return form


def agent_form(**fields) -> dict:
    form = {
        "name": "planted",
        "description": "",
        "status": "active",
        # The agent page carries its trust policies as an inline formset.
        "trust_policies-TOTAL_FORMS": "0",
        "trust_policies-INITIAL_FORMS": "0",
    }
    form.update(fields)
    return form


def select_options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select is not None, f"no select named {name}"
    return re.findall(r'<option value="([^"]+)"', select.group(0))


# List pages


@pytest.mark.parametrize("path", [AGENTS, POLICIES, RECORDS])
def test_list_hides_other_tenant(path, victim, other_client):
    response = other_client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert str(victim["agent"].pk) not in html
    assert str(victim["policy"].pk) not in html
    assert "org/repo-a" not in html
    assert "org/secret-repo" not in html


def test_list_shows_own_rows(victim, admin_client):
    html = admin_client.get(POLICIES).content.decode()

    assert "org/repo-a" in html
    assert str(victim["policy"].pk) in html


def test_list_search_hides_other_tenant(victim, other_client):
    response = other_client.get(RECORDS, {"q": "org/secret-repo"})

    assert response.context["cl"].result_count == 0


def test_agent_filter_lists_own_agents(victim, other_tenant, other_client):
    factories.make_agent(other_tenant, "globex-bot")

    html = other_client.get(POLICIES).content.decode()
    records_html = other_client.get(RECORDS).content.decode()

    assert "globex-bot" not in html  # the tenant has no policy for it yet
    assert "deployer" not in html
    assert "deployer" not in records_html


# Opening, changing and deleting by URL


def object_urls(victim) -> list[str]:
    agent, policy, record = victim["agent"], victim["policy"], victim["record"]
    urls = []
    for base, pk in ((AGENTS, agent.pk), (POLICIES, policy.pk), (RECORDS, record.pk)):
        urls += [f"{base}{pk}/change/", f"{base}{pk}/delete/", f"{base}{pk}/history/"]
    return urls


def test_other_tenant_urls_are_404(victim, other_client):
    for url in object_urls(victim):
        response = other_client.get(url)
        assert response.status_code == 404, url


def test_other_tenant_posts_are_404(victim, other_client):
    agent, policy = victim["agent"], victim["policy"]
    posts = {
        f"{AGENTS}{agent.pk}/change/": agent_form(name="stolen", status="disabled"),
        f"{AGENTS}{agent.pk}/delete/": {"post": "yes"},
        f"{POLICIES}{policy.pk}/change/": policy_form(None, repository="evil/x"),
        f"{POLICIES}{policy.pk}/delete/": {"post": "yes"},
        f"{RECORDS}{victim['record'].pk}/delete/": {"post": "yes"},
    }
    for url, data in posts.items():
        response = other_client.post(url, data)
        assert response.status_code == 404, url

    agent.refresh_from_db()
    policy.refresh_from_db()
    assert agent.name == "deployer"
    assert agent.status == Agent.Status.ACTIVE
    assert policy.repository == "org/repo-a"


def test_unknown_and_malformed_ids_are_404(admin_client):
    for url in (
        f"{AGENTS}00000000-0000-0000-0000-000000000000/change/",
        f"{AGENTS}not-a-uuid/change/",
        f"{RECORDS}999999/change/",
    ):
        assert admin_client.get(url).status_code == 404, url


def test_own_rows_open(victim, admin_client):
    for url in object_urls(victim):
        if "/exchangerecord/" in url and url.endswith("/delete/"):
            continue  # the log is read-only
        response = admin_client.get(url)
        assert response.status_code == 200, url


# Bulk actions with ids of another tenant


@pytest.mark.parametrize(
    "path, action",
    [
        (AGENTS, "delete_selected"),
        (AGENTS, "disable_agents"),
        (POLICIES, "delete_selected"),
        (POLICIES, "disable_policies"),
    ],
)
def test_action_ignores_other_tenant_ids(path, action, victim, other_client):
    pk = victim["agent"].pk if path == AGENTS else victim["policy"].pk

    other_client.post(
        path, {"action": action, "_selected_action": [str(pk)], "post": "yes"}
    )

    assert Agent.objects.filter(pk=victim["agent"].pk, status="active").exists()
    assert TrustPolicy.objects.filter(pk=victim["policy"].pk, enabled=True).exists()


# Tampered forms


def test_policy_agent_choices_are_own(victim, other_tenant, other_client):
    own = factories.make_agent(other_tenant, "globex-bot")

    html = other_client.get(f"{POLICIES}add/").content.decode()

    assert select_options(html, "agent") == [str(own.pk)]


def test_policy_other_tenant_agent_rejected(victim, other_client):
    response = other_client.post(f"{POLICIES}add/", policy_form(victim["agent"].pk))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "agent" in errors
    assert not TrustPolicy.objects.filter(repository="globex/app").exists()


def test_policy_change_other_agent_rejected(victim, other_tenant, other_client):
    own_agent = factories.make_agent(other_tenant, "globex-bot")
    own_policy = factories.make_policy(own_agent, repository="globex/app")

    response = other_client.post(
        f"{POLICIES}{own_policy.pk}/change/", policy_form(victim["agent"].pk)
    )

    assert response.status_code == 200
    assert "agent" in response.context["adminform"].form.errors
    own_policy.refresh_from_db()
    assert own_policy.agent_id == own_agent.pk


def test_posted_tenant_is_ignored(victim, tenant, other_tenant, other_client):
    response = other_client.post(f"{AGENTS}add/", agent_form(tenant=str(tenant.pk)))

    assert response.status_code == 302
    agent = Agent.objects.get(name="planted")
    assert agent.tenant == other_tenant


def test_tenant_in_query_is_ignored(tenant, other_client):
    response = other_client.get(f"{AGENTS}add/", {"tenant": str(tenant.pk)})

    assert response.status_code == 200
    assert str(tenant.pk) not in response.content.decode()


def test_policy_gets_admin_tenant(other_tenant, other_client):
    agent = factories.make_agent(other_tenant, "globex-bot")

    response = other_client.post(f"{POLICIES}add/", policy_form(agent.pk))

    assert response.status_code == 302
    policy = TrustPolicy.objects.get(repository="globex/app")
    assert policy.tenant == other_tenant
    assert policy.created_by.username == "globex-admin"


def test_duplicate_agent_name_is_form_error(agent, admin_client):
    response = admin_client.post(f"{AGENTS}add/", agent_form(name="deployer"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Agent with this Tenant and Name already exists."]
    }
    assert Agent.objects.filter(name="deployer").count() == 1


# Pages only superusers reach


SUPERUSER_PAGES = [
    "/admin/auth/user/",
    "/admin/auth/group/",
    "/admin/agents/tenant/",
    "/admin/agents/membership/",
    "/admin/oidc_exchange/signingkey/",
    "/admin/knox/authtoken/",
]


@pytest.mark.parametrize("path", SUPERUSER_PAGES)
def test_tenant_admin_denied_operator_pages(path, admin_client):
    assert admin_client.get(path).status_code == 403
    assert admin_client.get(f"{path}add/").status_code == 403


def test_operator_pages_ignore_permissions(tenant_admin, admin_client):
    from django.contrib.auth.models import Permission

    tenant_admin.user_permissions.add(
        Permission.objects.get(codename="change_user"),
        Permission.objects.get(codename="view_tenant"),
    )

    assert admin_client.get("/admin/auth/user/").status_code == 403
    assert admin_client.get("/admin/agents/tenant/").status_code == 403


def test_index_lists_tenant_pages_only(admin_client):
    html = admin_client.get("/admin/").content.decode()

    for path in (AGENTS, POLICIES, RECORDS):
        assert f'href="{path}"' in html
    for path in SUPERUSER_PAGES:
        assert f'href="{path}"' not in html


@pytest.mark.parametrize("path", SUPERUSER_PAGES)
def test_superuser_reaches_operator_pages(path, superuser_client):
    assert superuser_client.get(path).status_code == 200


def test_staff_without_tenant_reaches_nothing(db):
    from django.contrib.auth import get_user_model

    from agents.tenancy import tenant_admin_group

    user = get_user_model().objects.create_user(
        "drifter", password="correct-horse-battery", is_staff=True
    )
    user.groups.add(tenant_admin_group())
    client = signed_in(user)

    for path in (AGENTS, POLICIES, RECORDS, f"{AGENTS}add/"):
        assert client.get(path).status_code == 403, path


# Superusers


def test_superuser_sees_every_tenant(victim, other_tenant, superuser_client):
    factories.make_policy(
        factories.make_agent(other_tenant, "globex-bot"), repository="globex/app"
    )

    html = superuser_client.get(POLICIES).content.decode()

    assert "org/repo-a" in html
    assert "globex/app" in html
    assert "column-tenant" in html
    assert "tenant__id__exact" in html


def test_superuser_must_choose_tenant(superuser_client):
    response = superuser_client.post(f"{AGENTS}add/", agent_form(name="orphan"))

    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors


def test_superuser_agent_must_match_tenant(victim, other_tenant, superuser_client):
    response = superuser_client.post(
        f"{POLICIES}add/",
        policy_form(victim["agent"].pk, tenant=str(other_tenant.pk)),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["agent"]
    assert errors == [
        "Agent 'deployer' belongs to another tenant. Choose an agent of tenant "
        "'globex', or none for a registration policy."
    ]


def test_superuser_cannot_move_agent(victim, other_tenant, superuser_client):
    agent = victim["agent"]

    response = superuser_client.post(
        f"{AGENTS}{agent.pk}/change/",
        agent_form(tenant=str(other_tenant.pk), name="deployer"),
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.tenant.slug == "acme"
