"""The agent API: /agents and /agents/{id}."""

import uuid

import pytest
from rest_framework.test import APIClient

from agents.models import Agent
from policies.models import TrustPolicy
from tests import factories

pytestmark = pytest.mark.django_db

COLLECTION = "/agents"


def detail_path(agent_id) -> str:
    return f"{COLLECTION}/{agent_id}"


@pytest.fixture
def other_tenant(db):
    return factories.make_tenant("globex")


@pytest.fixture
def other_agent(other_tenant):
    """An agent of another tenant, which the API client must never reach."""
    return factories.make_agent(other_tenant, "billing")


# --- Create, list, retrieve, update, delete -----------------------------------


def test_create_agent(api_client, tenant, tenant_admin):
    response = api_client.post(
        COLLECTION, {"name": "deployer", "description": "Deploys"}, format="json"
    )
    body = response.json()
    agent = Agent.objects.get(pk=body["id"])

    assert response.status_code == 201, body
    assert body["name"] == "deployer"
    assert body["description"] == "Deploys"
    assert body["tenant"] == "acme"
    assert body["status"] == "active"
    assert body["registeredVia"] == "api"
    assert body["registeredRepository"] == ""
    assert "createdAt" in body
    assert agent.tenant == tenant
    assert agent.registered_by == tenant_admin


def test_list_agents(api_client, agent, other_agent):
    response = api_client.get(COLLECTION)
    body = response.json()

    assert response.status_code == 200
    assert body["count"] == 1
    assert [item["id"] for item in body["results"]] == [str(agent.pk)]


def test_retrieve_agent(api_client, agent):
    response = api_client.get(detail_path(agent.pk))

    assert response.status_code == 200
    assert response.json()["name"] == "deployer"


def test_patch_agent(api_client, agent):
    response = api_client.patch(
        detail_path(agent.pk),
        {"description": "Ships releases", "status": "disabled"},
        format="json",
    )
    agent.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert agent.description == "Ships releases"
    assert agent.status == Agent.Status.DISABLED


def test_patch_keeps_own_name(api_client, agent):
    response = api_client.patch(
        detail_path(agent.pk), {"name": "deployer"}, format="json"
    )

    assert response.status_code == 200, response.json()


def test_put_not_allowed(api_client, agent):
    response = api_client.put(detail_path(agent.pk), {"name": "x"}, format="json")

    assert response.status_code == 405


def test_delete_agent(api_client, agent, policy):
    response = api_client.delete(detail_path(agent.pk))

    assert response.status_code == 204
    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert not TrustPolicy.objects.filter(pk=policy.pk).exists()


def test_same_name_other_tenant_allowed(api_client, other_agent):
    response = api_client.post(COLLECTION, {"name": other_agent.name}, format="json")

    assert response.status_code == 201, response.json()


# --- Validation ----------------------------------------------------------------

INVALID_BODIES = [
    pytest.param({"name": "deployer"}, "name", "already exists", id="duplicate-name"),
    pytest.param({"name": ""}, "name", "blank", id="empty-name"),
    pytest.param({"name": "x" * 101}, "name", "100", id="name-too-long"),
    pytest.param({"name": "bad name!"}, "name", "Invalid agent name", id="spaces"),
    pytest.param({"name": "-bot"}, "name", "Invalid agent name", id="leading-dash"),
    pytest.param({}, "name", "required", id="no-name"),
    pytest.param({"name": "a", "status": "paused"}, "status", "valid", id="status"),
    pytest.param({"name": "a", "Name": "b"}, "Name", "Unknown", id="unknown-field"),
    pytest.param({"name": "a", "tenant": "globex"}, "tenant", "read-only", id="tenant"),
    pytest.param(
        {"name": "a", "registeredVia": "admin"},
        "registeredVia",
        "read-only",
        id="registered-via",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID_BODIES)
def test_invalid_agent_rejected(api_client, agent, body, field, message):
    response = api_client.post(COLLECTION, body, format="json")
    errors = response.json()

    assert response.status_code == 400
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert Agent.objects.count() == 1


def test_rename_to_taken_name_rejected(api_client, agent, tenant):
    second = factories.make_agent(tenant, "reviewer")

    response = api_client.patch(
        detail_path(second.pk), {"name": "deployer"}, format="json"
    )
    second.refresh_from_db()

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert second.name == "reviewer"


def test_trailing_slash_not_found(api_client, agent):
    collection = api_client.get(f"{COLLECTION}/")
    detail = api_client.get(f"{detail_path(agent.pk)}/")

    assert collection.status_code == 404
    assert detail.status_code == 404


# --- Tenant isolation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("get", None, id="retrieve"),
        pytest.param("patch", {"status": "disabled"}, id="patch"),
        pytest.param("delete", None, id="delete"),
    ],
)
def test_other_tenant_agent_not_found(api_client, other_agent, method, body):
    response = getattr(api_client, method)(
        detail_path(other_agent.pk), body, format="json"
    )
    unchanged = Agent.objects.get(pk=other_agent.pk)

    assert response.status_code == 404
    assert unchanged.status == Agent.Status.ACTIVE


def test_unknown_agent_not_found(api_client):
    response = api_client.get(detail_path(uuid.uuid4()))

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_unauthenticated_rejected(db, method):
    response = getattr(APIClient(), method)(COLLECTION, {"name": "x"})

    assert response.status_code == 401
    assert Agent.objects.count() == 0


def test_browsable_api_html(client, tenant_admin, agent):
    client.force_login(tenant_admin)

    response = client.get(COLLECTION, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "deployer" in response.content.decode()


# --- Authentication errors -----------------------------------------------------

AUTHORIZATION_HEADERS = [
    pytest.param("Token not-a-real-token", "create_api_token", id="unknown-token"),
    pytest.param("Bearer some-jwt", "Authorization: Token", id="bearer-scheme"),
    pytest.param("Basic dXNlcjpwYXNz", "Authorization: Token", id="basic-scheme"),
]


@pytest.mark.parametrize(("header", "hint"), AUTHORIZATION_HEADERS)
def test_bad_credentials_explained(db, header, hint):
    response = APIClient().get(COLLECTION, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert hint in response.json()["detail"]
