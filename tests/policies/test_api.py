"""The trust policy API: /oidc/trust-policies and /oidc/trust-policies/{id}."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from rest_framework.test import APIClient

from policies.models import TrustPolicy
from tests import factories

pytestmark = pytest.mark.django_db

COLLECTION = "/oidc/trust-policies"


def detail_path(policy_id) -> str:
    return f"{COLLECTION}/{policy_id}"


@pytest.fixture
def other_tenant(db):
    return factories.make_tenant("globex")


@pytest.fixture
def other_policy(other_tenant):
    """A policy of another tenant, which the API client must never reach."""
    other_agent = factories.make_agent(other_tenant, "billing")
    return factories.make_policy(other_agent, repository="globex/billing")


@pytest.fixture
def valid_body(agent):
    return {"repository": "org/repo-a", "branch": "main", "agentId": str(agent.pk)}


# --- Create, list, retrieve, update, delete -----------------------------------


def test_create_policy(api_client, tenant, tenant_admin, agent, valid_body):
    response = api_client.post(COLLECTION, valid_body, format="json")
    body = response.json()
    policy = TrustPolicy.objects.get(pk=body["id"])

    assert response.status_code == 201, body
    assert body["provider"] == "github"
    assert body["repository"] == "org/repo-a"
    assert body["branch"] == "main"
    assert body["agentId"] == str(agent.pk)
    assert body["allowedEvents"] == []
    assert body["enabled"] is True
    assert body["repositoryId"] == ""
    assert body["repositoryOwnerId"] == ""
    assert body["lastUsedAt"] is None
    assert "createdAt" in body
    assert "updatedAt" in body
    assert policy.tenant == tenant
    assert policy.created_by == tenant_admin


def test_create_registration_policy(api_client):
    response = api_client.post(COLLECTION, {"repository": "org/tools"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["agentId"] is None
    assert TrustPolicy.objects.get().is_registration_policy


def test_create_policy_form_encoded(api_client, agent):
    response = api_client.post(
        COLLECTION, {"repository": "org/repo-a", "agentId": str(agent.pk)}
    )

    assert response.status_code == 201, response.json()


def test_create_pinned_policy(api_client, agent):
    body = {
        "repository": "org/repo-a",
        "agentId": str(agent.pk),
        "repositoryId": "514238596",
        "repositoryOwnerId": "1559510",
        "allowedEvents": ["workflow_run"],
    }

    response = api_client.post(COLLECTION, body, format="json")
    policy = TrustPolicy.objects.get()

    assert response.status_code == 201, response.json()
    assert policy.repository_id == "514238596"
    assert policy.repository_owner_id == "1559510"
    assert policy.allowed_events == ["workflow_run"]


def test_list_policies(api_client, agent, other_policy):
    own = factories.make_policy(agent, repository="org/repo-a")

    response = api_client.get(COLLECTION)
    body = response.json()

    assert response.status_code == 200
    assert body["count"] == 1
    assert [item["id"] for item in body["results"]] == [str(own.pk)]


def test_retrieve_policy(api_client, policy):
    response = api_client.get(detail_path(policy.pk))

    assert response.status_code == 200
    assert response.json()["id"] == str(policy.pk)
    assert response.json()["repository"] == "org/repo-a"


def test_put_replaces_policy(api_client, policy, agent):
    body = {"repository": "org/repo-c", "agentId": str(agent.pk), "enabled": False}

    response = api_client.put(detail_path(policy.pk), body, format="json")
    policy.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert policy.repository == "org/repo-c"
    assert policy.branch == ""
    assert policy.enabled is False


def test_put_requires_repository(api_client, policy):
    response = api_client.put(detail_path(policy.pk), {"branch": "dev"}, format="json")

    assert response.status_code == 400
    assert "repository" in response.json()


def test_patch_updates_field(api_client, policy):
    response = api_client.patch(
        detail_path(policy.pk), {"branch": "release/1.x"}, format="json"
    )
    policy.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert policy.branch == "release/1.x"
    assert policy.repository == "org/repo-a"


def test_patch_disables_policy(api_client, policy):
    response = api_client.patch(
        detail_path(policy.pk), {"enabled": False}, format="json"
    )
    policy.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert policy.enabled is False


def test_delete_policy(api_client, policy):
    response = api_client.delete(detail_path(policy.pk))

    assert response.status_code == 204
    assert not TrustPolicy.objects.filter(pk=policy.pk).exists()


@pytest.mark.parametrize(
    "read_only",
    [
        pytest.param({"lastUsedAt": "2026-01-01T00:00:00Z"}, id="lastUsedAt"),
        pytest.param({"createdAt": "2026-01-01T00:00:00Z"}, id="createdAt"),
        pytest.param({"id": str(uuid.uuid4())}, id="id"),
    ],
)
def test_read_only_field_rejected(api_client, valid_body, read_only):
    response = api_client.post(COLLECTION, {**valid_body, **read_only}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == list(read_only)


# --- Paths are exact -----------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_collection_trailing_slash(api_client, valid_body, method):
    response = getattr(api_client, method)(f"{COLLECTION}/", valid_body, format="json")

    assert response.status_code == 404
    assert TrustPolicy.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_detail_trailing_slash(api_client, policy, method):
    response = getattr(api_client, method)(f"{detail_path(policy.pk)}/")

    assert response.status_code == 404
    assert TrustPolicy.objects.filter(pk=policy.pk).exists()


def test_detail_not_uuid(api_client):
    response = api_client.get(detail_path("not-a-uuid"))

    assert response.status_code == 404


# --- Validation: every invalid field is a 400 naming the field -----------------

INVALID_FIELDS = [
    pytest.param("provider", "gitlab", "'github'", id="provider-gitlab"),
    pytest.param("provider", "GitHub", "'github'", id="provider-case"),
    pytest.param("repository", "org", "owner/name", id="repository-no-slash"),
    pytest.param("repository", "org/", "owner/name", id="repository-no-name"),
    pytest.param("repository", "/repo", "owner/name", id="repository-no-owner"),
    pytest.param("repository", "org/repo/x", "owner/name", id="repository-path"),
    pytest.param(
        "repository", "https://github.com/org/repo", "owner/name", id="repository-url"
    ),
    pytest.param("repository", "org/repo.git", "'.git'", id="repository-git"),
    pytest.param("repository", "-org/repo", "owner/name", id="repository-hyphen"),
    pytest.param("repository", "org/my repo", "owner/name", id="repository-space"),
    pytest.param("repository", "org /repo", "owner/name", id="repository-owner-space"),
    pytest.param("repository", "org/..", "owner/name", id="repository-dot-dot"),
    pytest.param("repository", "o" * 40 + "/repo", "owner/name", id="owner-too-long"),
    pytest.param("repository", "", "blank", id="repository-empty"),
    pytest.param("branch", "refs/heads/main", "'main'", id="branch-ref"),
    pytest.param("branch", "a..b", "git branch name", id="branch-dot-dot"),
    pytest.param("branch", "a b", "git branch name", id="branch-space"),
    pytest.param("branch", "main.lock", "git branch name", id="branch-lock"),
    pytest.param("branch", "-x", "git branch name", id="branch-hyphen"),
    pytest.param("branch", "a~1", "git branch name", id="branch-tilde"),
    pytest.param("branch", "feature/", "git branch name", id="branch-slash"),
    pytest.param("branch", "x" * 256, "git branch name", id="branch-too-long"),
    pytest.param("allowedEvents", ["push"], "pull_request_target", id="event-push"),
    pytest.param("allowedEvents", "workflow_run", "list", id="events-not-list"),
    pytest.param("repositoryId", "abc", "GitHub id", id="repository-id-text"),
    pytest.param("repositoryId", "0123", "GitHub id", id="repository-id-zero"),
    pytest.param("repositoryOwnerId", "-5", "GitHub id", id="owner-id-negative"),
    pytest.param("agentId", "not-a-uuid", "UUID", id="agent-id-malformed"),
    pytest.param("agentId", str(uuid.uuid4()), "GET /agents", id="agent-id-unknown"),
    pytest.param("agentID", str(uuid.uuid4()), "agentId", id="unknown-field"),
    pytest.param("enabled", "maybe", "boolean", id="enabled-not-boolean"),
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID_FIELDS)
def test_invalid_field_rejected(api_client, valid_body, field, value, message):
    response = api_client.post(COLLECTION, {**valid_body, field: value}, format="json")
    body = response.json()

    assert response.status_code == 400
    assert list(body) == [field]
    assert message in " ".join(body[field])
    assert TrustPolicy.objects.count() == 0


@pytest.mark.parametrize(("field", "value", "message"), INVALID_FIELDS)
def test_invalid_field_patch_rejected(api_client, policy, field, value, message):
    response = api_client.patch(detail_path(policy.pk), {field: value}, format="json")
    body = response.json()
    unchanged = TrustPolicy.objects.get(pk=policy.pk)

    assert response.status_code == 400
    assert list(body) == [field]
    assert unchanged.repository == policy.repository
    assert unchanged.branch == policy.branch


def test_agent_of_other_tenant_rejected(api_client, valid_body, other_tenant):
    other_agent = factories.make_agent(other_tenant, "billing")

    response = api_client.post(
        COLLECTION, {**valid_body, "agentId": str(other_agent.pk)}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["agentId"]
    # The message is the same as for an agent that does not exist.
    assert "No agent with id" in response.json()["agentId"][0]
    assert TrustPolicy.objects.count() == 0


def test_patch_agent_of_other_tenant_rejected(api_client, policy, other_tenant):
    other_agent = factories.make_agent(other_tenant, "billing")

    response = api_client.patch(
        detail_path(policy.pk), {"agentId": str(other_agent.pk)}, format="json"
    )
    policy.refresh_from_db()

    assert response.status_code == 400
    assert policy.agent.tenant_id == policy.tenant_id


# Values that are valid, and how they are stored.
VALID_FIELDS = [
    pytest.param("repository", "Octo-Org/Deploy_Tools.v2", id="repository-mixed"),
    pytest.param("repository", "a/b", id="repository-short"),
    pytest.param("branch", "release/1.x", id="branch-slash"),
    pytest.param("branch", "", id="branch-empty"),
    pytest.param("branch", "feature-ü", id="branch-unicode"),
    pytest.param("allowedEvents", ["pull_request_target"], id="event-listed"),
]


@pytest.mark.parametrize(("field", "value"), VALID_FIELDS)
def test_valid_field_accepted(api_client, valid_body, field, value):
    response = api_client.post(COLLECTION, {**valid_body, field: value}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()[field] == value


# --- Tenant isolation ------------------------------------------------------------


def test_other_tenant_policy_not_listed(api_client, other_policy):
    response = api_client.get(COLLECTION)

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("get", None, id="retrieve"),
        pytest.param("put", {"repository": "acme/stolen"}, id="put"),
        pytest.param("patch", {"enabled": False}, id="patch"),
        pytest.param("delete", None, id="delete"),
    ],
)
def test_other_tenant_policy_not_found(api_client, other_policy, method, body):
    response = getattr(api_client, method)(
        detail_path(other_policy.pk), body, format="json"
    )
    unchanged = TrustPolicy.objects.get(pk=other_policy.pk)

    assert response.status_code == 404
    assert unchanged.repository == "globex/billing"
    assert unchanged.enabled is True


def test_unknown_policy_not_found(api_client):
    response = api_client.get(detail_path(uuid.uuid4()))

    assert response.status_code == 404


# --- Authentication ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", COLLECTION, id="list"),
        pytest.param("post", COLLECTION, id="create"),
        pytest.param("get", "{detail}", id="retrieve"),
        pytest.param("delete", "{detail}", id="delete"),
    ],
)
def test_unauthenticated_rejected(policy, method, path):
    path = path.format(detail=detail_path(policy.pk))

    response = getattr(APIClient(), method)(path, {"repository": "org/x"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert TrustPolicy.objects.count() == 1


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Token not-a-real-token", id="unknown-token"),
        pytest.param("Bearer abc", id="bearer-scheme"),
        pytest.param("Token", id="no-token"),
    ],
)
def test_invalid_credentials_rejected(policy, authorization):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.get(COLLECTION)

    assert response.status_code == 401


def test_expired_api_token_rejected(tenant_admin):
    _, token = AuthToken.objects.create(user=tenant_admin, expiry=timedelta(days=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    before = client.get(COLLECTION)

    with time_machine.travel(timedelta(days=1, seconds=1)):
        after = client.get(COLLECTION)

    assert before.status_code == 200
    assert after.status_code == 401
    assert AuthToken.objects.filter(user=tenant_admin).count() == 0


def test_user_without_tenant_forbidden():
    user = get_user_model().objects.create_user(username="drifter")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.make_api_token(user)}")

    response = client.get(COLLECTION)

    assert response.status_code == 403
    assert "create_tenant" in response.json()["detail"]


def test_session_post_requires_csrf(tenant_admin, valid_body):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tenant_admin)

    response = client.post(COLLECTION, valid_body, format="json")

    assert response.status_code == 403
    assert TrustPolicy.objects.count() == 0


# --- Browsable API ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(COLLECTION, id="list"),
        pytest.param("{detail}", id="detail"),
    ],
)
def test_browsable_api_html(client, tenant_admin, policy, path):
    client.force_login(tenant_admin)

    response = client.get(
        path.format(detail=detail_path(policy.pk)), HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "org/repo-a" in response.content.decode()


def test_browsable_api_lists_own_agents(client, tenant_admin, agent, other_tenant):
    other_agent = factories.make_agent(other_tenant, "billing")
    client.force_login(tenant_admin)

    response = client.get(COLLECTION, HTTP_ACCEPT="text/html")
    html = response.content.decode()

    assert response.status_code == 200
    assert str(agent.pk) in html
    assert str(other_agent.pk) not in html
