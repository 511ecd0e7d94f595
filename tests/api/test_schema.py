"""The OpenAPI document at /api/schema and Swagger UI at /api/docs."""

import io

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

# Every endpoint of the HTTP API, with its methods.
ENDPOINTS = {
    "/agents": {"get", "post"},
    "/agents/{id}": {"get", "patch", "delete"},
    "/oidc/trust-policies": {"get", "post"},
    "/oidc/trust-policies/{id}": {"get", "put", "patch", "delete"},
    "/oidc/token": {"post"},
    "/oidc/agents": {"post"},
    "/oidc/audience": {"get"},
    "/.well-known/jwks.json": {"get"},
    "/.well-known/oauth-authorization-server": {"get"},
}
ERROR_KEYS = ["error", "error_description", "reason"]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema, path: str, method: str) -> dict:
    return schema["paths"][path][method]


def resolve(schema, ref: dict) -> dict:
    name = ref["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][name]


def test_schema_validates(schema):
    validate_schema(schema)


def test_generation_has_no_warnings(tmp_path):
    output = tmp_path / "schema.yaml"

    # --fail-on-warn raises on any warning or error of the generator.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))

    assert output.stat().st_size > 0


@pytest.mark.parametrize("path, methods", sorted(ENDPOINTS.items()))
def test_endpoint_documented(path, methods, schema):
    assert path in schema["paths"]
    documented = set(schema["paths"][path]) - {"parameters"}
    assert methods <= documented


def test_token_accepts_form_and_json(schema):
    content = operation(schema, "/oidc/token", "post")["requestBody"]["content"]

    assert set(content) == {"application/x-www-form-urlencoded", "application/json"}
    body = resolve(schema, content["application/json"]["schema"])
    assert set(body["required"]) == {
        "grant_type",
        "subject_token",
        "subject_token_type",
        "agent_id",
    }


def test_token_success_body(schema):
    response = operation(schema, "/oidc/token", "post")["responses"]["200"]

    body = resolve(schema, response["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {
        "access_token",
        "issued_token_type",
        "token_type",
        "expires_in",
        "expires_at",
    }


@pytest.mark.parametrize(
    "path, statuses",
    [
        ("/oidc/token", ["400", "401", "403", "413", "429", "503"]),
        ("/oidc/agents", ["400", "401", "403", "409", "413", "503"]),
    ],
)
def test_error_bodies(path, statuses, schema):
    responses = operation(schema, path, "post")["responses"]

    for status in statuses:
        content = responses[status]["content"]["application/json"]
        body = resolve(schema, content["schema"])
        assert sorted(body["properties"]) == sorted(ERROR_KEYS), status
        example = next(iter(content["examples"].values()))["value"]
        assert sorted(example) == sorted(ERROR_KEYS), status


def test_error_reasons_listed(schema):
    description = operation(schema, "/oidc/token", "post")["responses"]["401"][
        "description"
    ]

    assert "token_replayed" in description
    assert "bad_signature" in description


def test_registration_bodies(schema):
    responses = operation(schema, "/oidc/agents", "post")["responses"]

    for status in ("200", "201"):
        body = resolve(
            schema, responses[status]["content"]["application/json"]["schema"]
        )
        assert "created" in body["properties"], status
        assert "id" in body["properties"], status


def test_filters_documented(schema):
    agents = operation(schema, "/agents", "get")["parameters"]
    policies = operation(schema, "/oidc/trust-policies", "get")["parameters"]

    assert "status" in {parameter["name"] for parameter in agents}
    assert {"agent", "repository", "enabled"} <= {
        parameter["name"] for parameter in policies
    }


@pytest.mark.django_db
def test_schema_served_without_login():
    response = APIClient().get("/api/schema")

    assert response.status_code == 200
    document = yaml.safe_load(io.BytesIO(response.content))
    assert "/oidc/token" in document["paths"]


@pytest.mark.django_db
def test_swagger_ui_served_locally():
    response = APIClient().get("/api/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
