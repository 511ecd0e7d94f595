"""Filtering and paging of the list endpoints, and the browsable API's login."""

import pytest
from django.test import Client

from tests import factories

HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def agents(tenant):
    return {
        "deployer": factories.make_agent(tenant, "deployer"),
        "releaser": factories.make_agent(tenant, "releaser"),
        "retired": factories.make_agent(tenant, "retired", status="disabled"),
    }


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def repositories(response) -> list[str]:
    return [row["repository"] for row in response.json()["results"]]


# /agents


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"status": "disabled"}, ["retired"]),
        ({"status": "active"}, ["deployer", "releaser"]),
        ({"name": "RELEASER"}, ["releaser"]),
        ({}, ["deployer", "releaser", "retired"]),
    ],
)
def test_agents_filtered(query, expected, agents, api_client):
    response = api_client.get("/agents", query)

    assert response.status_code == 200
    assert names(response) == expected


def test_agents_invalid_status_is_400(agents, api_client):
    response = api_client.get("/agents", {"status": "sleeping"})

    assert response.status_code == 400
    assert "status" in response.json()


def test_agents_paginated(agents, api_client):
    response = api_client.get("/agents", {"limit": 2})

    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("/agents?limit=2&offset=2")


def test_agents_of_other_tenant_not_listed(agents, api_client):
    factories.make_agent(factories.make_tenant("globex"), "spy")

    assert "spy" not in names(api_client.get("/agents"))


# /oidc/trust-policies


@pytest.fixture
def policies(agents):
    deployer, releaser = agents["deployer"], agents["releaser"]
    return [
        factories.make_policy(deployer, repository="org/repo-a", branch="main"),
        factories.make_policy(deployer, repository="org/repo-b", enabled=False),
        factories.make_policy(releaser, repository="Org/Repo-A", branch="release"),
        factories.make_policy(tenant=deployer.tenant, repository="org/registry"),
    ]


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"enabled": "false"}, ["org/repo-b"]),
        ({"repository": "ORG/REPO-A"}, ["org/repo-a", "Org/Repo-A"]),
        ({"registration": "true"}, ["org/registry"]),
        ({"branch": "release"}, ["Org/Repo-A"]),
    ],
)
def test_policies_filtered(query, expected, policies, api_client):
    response = api_client.get("/oidc/trust-policies", query)

    assert response.status_code == 200
    assert sorted(repositories(response)) == sorted(expected)


def test_policies_filtered_by_agent(agents, policies, api_client):
    response = api_client.get(
        "/oidc/trust-policies",
        {
            "agent": str(agents["deployer"].pk),
            "repository": "org/repo-a",
            "enabled": "true",
        },
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(policies[0].pk)]


UNKNOWN_AGENT = (
    "Select a valid choice. That choice is not one of the available choices."
)


# An agent of another tenant gets the same response as an unknown id.
@pytest.mark.parametrize(
    "agent_id, message",
    [
        ("00000000-0000-0000-0000-000000000000", UNKNOWN_AGENT),
        ("other tenant", UNKNOWN_AGENT),
        ("not-a-uuid", "\u201cnot-a-uuid\u201d is not a valid UUID."),
    ],
)
def test_policies_unknown_agent_is_400(agent_id, message, policies, api_client):
    if agent_id == "other tenant":
        agent_id = str(factories.make_agent(factories.make_tenant("globex"), "x").pk)

    response = api_client.get("/oidc/trust-policies", {"agent": agent_id})

    assert response.status_code == 400
    assert response.json() == {"agent": [message]}


def test_policies_paginated(policies, api_client):
    body = api_client.get("/oidc/trust-policies", {"limit": 1, "offset": 1}).json()

    assert body["count"] == 4
    assert len(body["results"]) == 1
    assert body["previous"] is not None


# The browsable API with a session


def test_anonymous_page_links_login(db):
    html = Client().get("/agents", **HTML).content.decode()

    assert "href='/api-auth/login/?next=/agents'" in html


def test_session_login_and_logout(tenant_admin, agents):
    client = Client()
    login_page = client.get("/api-auth/login/?next=/agents")
    assert login_page.status_code == 200

    response = client.post(
        "/api-auth/login/?next=/agents",
        {
            "username": "acme-admin",
            "password": "correct-horse-battery",
            "next": "/agents",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/agents"

    page = client.get("/agents", **HTML)
    html = page.content.decode()
    assert page.status_code == 200
    assert "releaser" in html
    assert 'action="/api-auth/logout/' in html
    assert "Filters" in html

    logout = client.post("/api-auth/logout/")
    assert logout.status_code in (200, 302)
    assert client.get("/agents").status_code == 401


def test_filter_form_lists_own_agents(tenant_admin, agents):
    factories.make_agent(factories.make_tenant("globex"), "spy")
    client = Client()
    client.force_login(tenant_admin)

    html = client.get("/oidc/trust-policies", **HTML).content.decode()

    assert "deployer" in html
    assert "spy" not in html


def test_login_without_next_opens_agents(tenant_admin):
    response = Client().post(
        "/api-auth/login/",
        {"username": "acme-admin", "password": "correct-horse-battery"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/agents"
