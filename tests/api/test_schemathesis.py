"""Generated requests against SentryAgent under gunicorn, checked against its schema.

schemathesis generates valid and invalid requests for every operation in the
OpenAPI document that drf-spectacular generates, and sends them to the service.
It runs all its default checks on each response: no server error, and a status
code, content type, headers and body that the document declares. Where a check
cannot judge a case, for a reason stated where the case is recognised, the
test leaves that check out for that case only.

The document is generated in this process, with the same code that serves
/api/schema. NOTE: schemathesis.pytest.from_fixture, which would load it from
the running service, fails under pytest 9 (schemathesis 4.32.5 sets
``Node._nodeid``, which pytest 9 removed).
"""

import runpy
import uuid
from urllib.parse import unquote, urlsplit

import hypothesis
import pytest
import requests
import schemathesis
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DRFValidationError
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    status_code_conformance,
)

from agents.models import Agent
from agents.serializers import AgentSerializer
from policies import validation
from policies.models import TrustPolicy
from policies.serializers import TrustPolicySerializer
from tests import factories
from tests.conftest import AUDIENCE, PROJECT_DIR, LiveService, exchange_params

pytestmark = pytest.mark.django_db(transaction=True)

# Rows that generated requests reach by id, besides the random ids they make up.
AGENT_ID = "6f1d0c2a-8e4b-4d7a-9c3e-2b5a7f0e1d44"
POLICY_ID = "b3a9e7c1-5d2f-4e8a-a6b0-9c4d1e2f3a55"
REGISTRATION_POLICY_ID = "0c7e4b1d-3a5f-4f6e-8d2c-1b9a7e5f3c66"
TENANT_SLUG = "fuzz"
# Stands for a GitHub token that the local issuer signs right before the request.
GENUINE_TOKEN = "genuine-github-token"
# The settings that the live service's gunicorn reads from the project directory.
GUNICORN_SETTINGS = runpy.run_path(str(PROJECT_DIR / "gunicorn.conf.py"))
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Query parameters that the service reads leniently rather than rejecting an
# invalid value: LimitOffsetPagination falls back to its defaults, and
# django-filter's BooleanFilter ignores values other than true, false, 1 and 0.
LENIENT_QUERY_PARAMETERS = {"limit", "offset", "enabled", "registration"}
# Serializers of the tenant API's request bodies, by path.
TENANT_API_SERIALIZERS = {
    "/agents": AgentSerializer,
    "/agents/{id}": AgentSerializer,
    "/oidc/trust-policies": TrustPolicySerializer,
    "/oidc/trust-policies/{id}": TrustPolicySerializer,
}

OPENAPI = SchemaGenerator().get_schema(request=None, public=True)
NULLABLE_REQUEST_FIELDS = {
    name
    for component in OPENAPI["components"]["schemas"].values()
    for name, field in component.get("properties", {}).items()
    if field.get("nullable") and not field.get("readOnly")
}

schema = schemathesis.openapi.from_dict(
    OPENAPI,
    # An empty configuration, so that no schemathesis.toml found on disk applies.
    config=schemathesis.Config.from_dict({}),
)


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def sometimes(values: dict, replacements: dict):
    """Return a strategy of ``values`` with each of ``replacements`` applied or not."""
    choices = {
        name: st.sampled_from([values[name], replacement])
        for name, replacement in replacements.items()
    }
    return st.fixed_dictionaries(choices).map(lambda chosen: {**values, **chosen})


@schema.hook
def flatmap_query(context, query):
    if not query or not is_uuid(query.get("agent")):
        return st.just(query)
    return sometimes(query, {"agent": AGENT_ID})


@schema.hook
def flatmap_body(context, body):
    """Sometimes put real ids, the tenant's slug and a genuine token in the body.

    Only values that are valid already get replaced, so that a case generated
    to be invalid stays invalid.
    """
    if not isinstance(body, dict):
        return st.just(body)
    replacements = {}
    for name in ("agentId", "agent_id"):
        if is_uuid(body.get(name)):
            replacements[name] = AGENT_ID
    if isinstance(body.get("subject_token"), str) and body["subject_token"]:
        replacements["subject_token"] = GENUINE_TOKEN
    if isinstance(body.get("tenant"), str) and body["tenant"]:
        replacements["tenant"] = TENANT_SLUG
    return sometimes(body, replacements)


class TenantRows:
    """A tenant with an admin and an API token, an agent and two trust policies.

    One policy lets org/repo-a act as the agent and the other lets it register
    agents, because the local issuer's tokens come from org/repo-a.
    """

    def __init__(self):
        self.tenant = factories.make_tenant(TENANT_SLUG)
        self.admin = factories.make_tenant_admin(self.tenant, "fuzz-admin")
        self.token = factories.make_api_token(self.admin)
        self.restore()

    def restore(self) -> None:
        """Create the agent and the policies again where a request deleted them."""
        agent, _ = Agent.objects.get_or_create(
            id=AGENT_ID, defaults={"tenant": self.tenant, "name": f"fuzz-{AGENT_ID}"}
        )
        TrustPolicy.objects.get_or_create(
            id=POLICY_ID,
            defaults={
                "tenant": self.tenant,
                "agent": agent,
                "repository": "org/repo-a",
            },
        )
        TrustPolicy.objects.get_or_create(
            id=REGISTRATION_POLICY_ID,
            defaults={"tenant": self.tenant, "repository": "org/repo-a"},
        )


@pytest.fixture
def rows():
    return TenantRows()


def breaks_rule_schema_cannot_state(case, rows, trusted_issuer: str) -> bool:
    """Return whether a case that the schema allows breaks a rule it cannot state.

    The service rejects such cases with a 400 on purpose, and
    positive_data_acceptance would report that as a schema-valid request
    rejected.
    """
    body = case.body if isinstance(case.body, dict) else {}
    query = case.query or {}
    # A GitHub token is valid by its signature, which no schema can describe.
    if "subject_token" in body and body["subject_token"] != GENUINE_TOKEN:
        return True
    # Agents that the tenant does not have: trust policies and their filter
    # reject the id as an agent of another tenant would be.
    for value in (body.get("agentId"), query.get("agent")):
        if is_uuid(value) and value != AGENT_ID:
            return True
    # PostgreSQL text columns cannot contain NUL characters, so DRF rejects
    # them in every string field, and registration when it stores or looks up
    # the value.
    values = [*body.values(), *query.values()]
    if any(isinstance(value, str) and "\x00" in value for value in values):
        return True
    # Names of agents that exist in the tenant already.
    if case.operation.path.startswith("/agents") and isinstance(body.get("name"), str):
        same_name = Agent.objects.filter(tenant=rows.tenant, name=body["name"].strip())
        agent_id = (case.path_parameters or {}).get("id")
        if is_uuid(agent_id):
            same_name = same_name.exclude(id=agent_id)
        return same_name.exists()
    # Rules of trust policies that only the help text of the fields states: a
    # git branch name, '.', '..' and '.git' in a repository name, and issuers
    # that the running service trusts.
    if case.operation.path.startswith("/oidc/trust-policies"):
        try:
            if isinstance(body.get("repository"), str):
                validation.validate_repository(body["repository"].strip())
            if isinstance(body.get("branch"), str):
                validation.validate_branch(body["branch"].strip())
        except ValidationError:
            return True
        issuer = body.get("issuer")
        return isinstance(issuer, str) and issuer.strip() not in ("", trusted_issuer)
    return False


def read_as_drf_reads(serializer_class, body):
    """Return a JSON body as the fields of the serializer parse it.

    DRF converts numbers to strings for string fields and strips whitespace
    from them, reads 'yes' or 1 as true, and reads an empty string as null for
    related fields, such as agentId. Parsing runs no validators, so values
    that only a rule rejects stay as they are.
    """
    if not isinstance(body, dict):
        return body
    fields = serializer_class().fields
    read = {}
    for name, value in body.items():
        field = fields.get(name)
        if isinstance(field, serializers.RelatedField):
            value = None if value == "" else value
        elif field is not None and not field.read_only:
            try:
                value = field.to_internal_value(value)
            except DRFValidationError:
                pass
        read[name] = value
    return read


def accepted_by_design(case) -> bool:
    """Return whether the service accepts the invalid parts of a case on purpose.

    negative_data_rejection would report such a case as a schema-violating
    request accepted.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    for location, component in meta.components.items():
        if not component.mode.is_negative:
            continue
        if location == ParameterLocation.QUERY:
            if not query_read_leniently(case):
                return False
        elif location == ParameterLocation.BODY:
            if not body_read_leniently(case):
                return False
        else:
            return False
    return True


def query_read_leniently(case) -> bool:
    query = case.query or {}
    names = [
        name
        for name, location in negated_parameters(case.meta)
        if location == ParameterLocation.QUERY
    ]
    # An empty value of a filter means no filter: the browsable API's filter
    # form sends every field, empty or not.
    return bool(names) and all(
        name in LENIENT_QUERY_PARAMETERS or query.get(name) == "" for name in names
    )


def body_read_leniently(case) -> bool:
    serializer_class = TENANT_API_SERIALIZERS.get(case.operation.path)
    if serializer_class is None:
        return False
    # Forms carry only text, and DRF reads an empty value as null or as not
    # sent. A value made invalid by its type, such as a number or null for a
    # string, can arrive as valid text, and a multipart body that is no form
    # at all reads as an empty one.
    if case.media_type in FORM_MEDIA_TYPES:
        return True
    definition = None
    if case.media_type is not None:
        definition = case.operation.get_body_for_media_type(case.media_type)
    # Without a documented media type or with raw bytes, the body has no
    # schema to check it against.
    if definition is None or isinstance(case.body, bytes):
        return False
    return definition.is_valid(read_as_drf_reads(serializer_class, case.body))


def request_line_too_long(case, base_url: str) -> bool:
    """Return whether gunicorn rejects the request line as too long.

    gunicorn rejects it with its own 414 page before the service receives the
    request, so the document of the service cannot describe the response.
    """
    kwargs = case.as_transport_kwargs(base_url=base_url)
    prepared = requests.Request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params")
    ).prepare()
    request_line = f"{prepared.method} {prepared.path_url} HTTP/1.1"
    return len(request_line.encode()) > GUNICORN_SETTINGS["limit_request_line"]


def misses_every_route(case) -> bool:
    """Return whether the path matches no URL route, such as an id with a '.'.

    Django then responds with its own HTML page, before any view runs.
    """
    try:
        resolve(unquote(urlsplit(case.formatted_path).path))
    except Resolver404:
        return True
    return False


def use_stored_id(case) -> None:
    """Replace a valid id in the path with that of the tenant's agent or policy.

    An id of no row gets a 404 before DRF reads the query or body, which would
    leave them untested. Ids that are no UUID still reach the service.
    """
    if not case.path_parameters or not is_uuid(case.path_parameters.get("id")):
        return
    if case.operation.path.startswith("/agents"):
        case.path_parameters["id"] = AGENT_ID
    else:
        case.path_parameters["id"] = POLICY_ID


def spell_null_for_forms(case) -> None:
    """Send null in a form as DRF reads it, an empty value, not as 'null'."""
    if case.media_type in FORM_MEDIA_TYPES and isinstance(case.body, dict):
        for name in NULLABLE_REQUEST_FIELDS & set(case.body):
            if case.body[name] is None:
                case.body[name] = ""


# derandomize makes every run send the same cases, so that a failure is one
# that a change brought. max_examples bounds the fuzzing phase only, and the
# coverage phase adds cases of its own. To explore further, turn derandomize
# off and raise max_examples.
@schema.parametrize()
@hypothesis.settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_api_conforms_to_schema(case, rows, live_service, local_issuer):
    rows.restore()
    use_stored_id(case)
    excluded = []
    if breaks_rule_schema_cannot_state(case, rows, local_issuer.url):
        excluded.append(positive_data_acceptance)
    if accepted_by_design(case):
        excluded.append(negative_data_rejection)
    if misses_every_route(case):
        excluded.append(content_type_conformance)
    if request_line_too_long(case, live_service.url):
        excluded += [status_code_conformance, content_type_conformance]
    if isinstance(case.body, dict) and case.body.get("subject_token") == GENUINE_TOKEN:
        case.body["subject_token"] = local_issuer.mint(aud=AUDIENCE)
    spell_null_for_forms(case)

    case.call_and_validate(
        base_url=live_service.url,
        headers={"Authorization": f"Token {rows.token}"},
        excluded_checks=excluded,
        timeout=10,
    )


# Registration once responded to these with a 503 on PostgreSQL, which cannot
# store or compare text that contains NUL.
@pytest.mark.parametrize("field", ["tenant", "description"])
def test_registration_nul_not_outage(field, rows, live_service, local_issuer):
    body = {
        "subject_token": local_issuer.mint(aud=AUDIENCE),
        "name": "nul-probe",
        field: f"{TENANT_SLUG}\x00",
    }

    response = requests.post(f"{live_service.url}/oidc/agents", json=body, timeout=10)

    assert response.status_code < 500, response.text


def test_rate_limited_exchange_conforms(local_issuer):
    # One worker, so that one cache counts every request.
    service = LiveService(local_issuer, workers=1, SENTRYAGENT_RATE_LIMIT="1/min")
    operation = schema["/oidc/token"]["POST"]
    case = operation.Case(
        body=exchange_params("not-a-token", AGENT_ID), media_type="application/json"
    )

    service.start()
    try:
        case.call(base_url=service.url, timeout=10)
        limited = case.call_and_validate(base_url=service.url, timeout=10)
    finally:
        service.stop()

    assert limited.status_code == 429
