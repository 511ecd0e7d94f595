"""POST /oidc/token in process, with tokens from the local OIDC issuer.

Every request writes exactly one exchange record, so each test also checks the
record's outcome and reasons, and that no field of it stores the token.
"""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from jose import jwk, jwt

from agents.models import Agent
from devtools.local_issuer import LocalIssuer, github_id
from oidc_exchange.models import ExchangeRecord, UsedToken
from tests import factories
from tests.conftest import AUDIENCE, exchange_params
from tests.oidc_exchange.conftest import session_rsa_pem
from tests.oidc_exchange.token_requests import (
    exchange,
    mint,
    post_form,
    post_json,
    record_text,
    rsa_key,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signing_key")]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
EXPIRES_AT_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture(scope="module")
def rogue_issuer():
    """An issuer on loopback that the service does not trust."""
    with LocalIssuer() as rogue:
        yield rogue


@pytest.fixture
def other_tenant(db):
    return factories.make_tenant("globex")


def now() -> int:
    return int(time.time())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_part(value: object) -> str:
    return b64url(json.dumps(value).encode())


def flip_signature_byte(token: str) -> str:
    """Return the token with one bit of its signature's first byte flipped."""
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{header}.{payload}.{b64url(bytes(raw))}"


def public_pem(private_pem: str) -> bytes:
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def sign_rs256(signing_input: str, private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return b64url(signature)


def unsigned_token(issuer: LocalIssuer) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.active_kid}
    return f"{encode_part(header)}.{encode_part(issuer.claims())}."


def hs256_with_public_key(issuer: LocalIssuer) -> str:
    """Sign with HMAC, using the issuer's public key PEM as the secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.active_kid}
    signing_input = f"{encode_part(header)}.{encode_part(issuer.claims())}"
    secret = public_pem(issuer.keys[issuer.active_kid])
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rs512_token(issuer: LocalIssuer) -> str:
    kid = issuer.active_kid
    return jwt.encode(
        issuer.claims(), issuer.keys[kid], algorithm="RS512", headers={"kid": kid}
    )


def unknown_kid_token(issuer: LocalIssuer) -> str:
    return jwt.encode(
        issuer.claims(),
        rsa_key(session_rsa_pem("unpublished")),
        algorithm="RS256",
        headers={"kid": "NOT-PUBLISHED-BY-THE-ISSUER"},
    )


def token_without(issuer: LocalIssuer, name: str) -> str:
    claims = issuer.claims()
    del claims[name]
    return mint(issuer, claims)


def header_without(issuer: LocalIssuer, name: str) -> str:
    kid = issuer.active_kid
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    del header[name]
    signing_input = f"{encode_part(header)}.{encode_part(issuer.claims())}"
    return f"{signing_input}.{sign_rs256(signing_input, issuer.keys[kid])}"


# --- Accepted exchanges -------------------------------------------------------


def test_exchange_accepted_response(client, issuer, policy):
    response = exchange(client, mint(issuer), policy.agent_id)
    body = response.json()

    assert response.status_code == 200, body
    assert set(body) == {
        "access_token",
        "issued_token_type",
        "token_type",
        "expires_in",
        "expires_at",
    }
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert EXPIRES_AT_FORMAT.fullmatch(body["expires_at"])
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_access_token_verifies_with_jwks(client, issuer, policy, tenant):
    claims = issuer.claims()
    response = exchange(client, mint(issuer, claims), policy.agent_id)
    body = response.json()
    jwks = client.get("/.well-known/jwks.json").json()

    access = jwt.decode(
        body["access_token"],
        jwks,
        algorithms=["RS256"],
        audience=settings.SENTRYAGENT_ISSUER,
        issuer=settings.SENTRYAGENT_ISSUER,
    )
    header = jwt.get_unverified_header(body["access_token"])

    assert access["sub"] == str(policy.agent_id)
    assert access["tenant"] == str(tenant.pk)
    assert access["act"]["iss"] == issuer.url
    assert access["act"]["sub"] == claims["sub"]
    assert access["act"]["repository"] == "org/repo-a"
    assert access["act"]["ref"] == "refs/heads/main"
    assert access["act"]["sha"] == claims["sha"]
    assert access["act"]["run_id"] == claims["run_id"]
    assert access["exp"] - access["iat"] == 900
    assert body["expires_at"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(access["exp"])
    )
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert header["alg"] == "RS256"


def test_exchange_accepted_record(client, issuer, policy):
    claims = issuer.claims()
    token = mint(issuer, claims)

    response = exchange(client, token, policy.agent_id)
    access = jwt.get_unverified_claims(response.json()["access_token"])

    assert ExchangeRecord.objects.count() == 1
    record = ExchangeRecord.objects.get()
    assert record.outcome == "accepted"
    assert record.status_code == 200
    assert record.reason == "accepted"
    assert record.agent_id == policy.agent_id
    assert record.policy_id == policy.pk
    assert record.tenant_id == policy.tenant_id
    assert record.github_jti == claims["jti"]
    assert record.repository == "org/repo-a"
    assert record.run_id == claims["run_id"]
    assert record.issued_jti == access["jti"]
    assert token not in record_text(record)
    assert token.split(".")[2] not in record_text(record)
    assert response.json()["access_token"] not in record_text(record)


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_exchange_body_encodings(client, issuer, policy, encoding):
    params = exchange_params(mint(issuer), policy.agent_id)
    post = post_form if encoding == "form" else post_json

    response = post(client, params)

    assert response.status_code == 200, response.json()
    assert ExchangeRecord.objects.count() == 1


@pytest.mark.parametrize(
    "token_type",
    [
        pytest.param("urn:ietf:params:oauth:token-type:id_token", id="id_token"),
        pytest.param("urn:ietf:params:oauth:token-type:jwt", id="jwt"),
    ],
)
def test_exchange_subject_token_types(client, issuer, policy, token_type):
    response = exchange(
        client, mint(issuer), policy.agent_id, subject_token_type=token_type
    )

    assert response.status_code == 200, response.json()


# Claims of tokens that the policy for org/repo-a on main accepts, built when
# the test runs because they depend on the time.
ACCEPTED_CLAIMS = [
    pytest.param(lambda: {"repository": "ORG/Repo-A"}, id="repository-upper-case"),
    pytest.param(
        lambda: {"sub": "repo:org/repo-a:environment:production"},
        id="environment-sub",
    ),
    pytest.param(
        lambda: {"sub": "repo:evil/other:ref:refs/heads/dev"}, id="unrelated-sub"
    ),
    pytest.param(lambda: {"nbf": now() - 1800}, id="nbf-backdated"),
    pytest.param(lambda: {"nbf": None}, id="no-nbf"),
    pytest.param(
        lambda: {"exp": now() - 30, "iat": now() - 330}, id="expired-in-leeway"
    ),
    pytest.param(lambda: {"iat": now() + 30}, id="iat-ahead-in-leeway"),
    pytest.param(lambda: {"event_name": "workflow_dispatch"}, id="workflow-dispatch"),
]


@pytest.mark.parametrize("make_claims", ACCEPTED_CLAIMS)
def test_exchange_accepts_claims(client, issuer, policy, make_claims):
    response = exchange(client, mint(issuer, **make_claims()), policy.agent_id)

    assert response.status_code == 200, response.json()
    assert ExchangeRecord.objects.get().reason == "accepted"


def test_policy_repository_case_ignored(client, issuer, agent):
    factories.make_policy(agent, repository="Org/Repo-A", branch="main")

    response = exchange(client, mint(issuer), agent.pk)

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("event_name", ["pull_request_target", "workflow_run"])
def test_risky_event_allowed_by_policy(client, issuer, agent, event_name):
    factories.make_policy(agent, branch="main", allowed_events=[event_name])

    response = exchange(client, mint(issuer, event_name=event_name), agent.pk)

    assert response.status_code == 200, response.json()


def test_second_policy_matches(client, issuer, agent):
    other = factories.make_policy(agent, repository="org/repo-b")
    matching = factories.make_policy(agent, repository="org/repo-a", branch="main")

    response = exchange(client, mint(issuer), agent.pk)
    other.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert ExchangeRecord.objects.get().policy_id == matching.pk
    assert other.repository_id == ""


# --- Denied: a genuine token that no policy allows -----------------------------

# Claim overrides of a token presented to the policy for org/repo-a on main,
# extra fields of that policy, and the detail reason of the denial.
DENIED_CLAIMS = [
    pytest.param({"repository": "org/repo-b"}, {}, "repository_mismatch", id="repo"),
    pytest.param({"ref": "refs/heads/dev"}, {}, "branch_mismatch", id="branch"),
    pytest.param({"ref": "refs/tags/main"}, {}, "branch_mismatch", id="tag-ref"),
    pytest.param({"ref": "refs/pull/1/merge"}, {}, "branch_mismatch", id="pr-ref"),
    pytest.param(
        {"ref": "refs/pull/1/merge", "base_ref": "main"},
        {},
        "branch_mismatch",
        id="pr-base-ref-main",
    ),
    pytest.param({"ref": "refs/heads/main-evil"}, {}, "branch_mismatch", id="suffix"),
    pytest.param({"ref": "refs/heads/evil/main"}, {}, "branch_mismatch", id="prefix"),
    pytest.param({"ref": "refs/heads/Main"}, {}, "branch_mismatch", id="branch-case"),
    pytest.param({"ref": "main"}, {}, "branch_mismatch", id="bare-branch"),
    pytest.param(
        {"event_name": "pull_request_target"},
        {},
        "event_not_allowed",
        id="pull-request-target",
    ),
    pytest.param(
        {"event_name": "workflow_run"}, {}, "event_not_allowed", id="workflow-run"
    ),
    pytest.param(
        {"event_name": "workflow_run"},
        {"allowed_events": ["pull_request_target"]},
        "event_not_allowed",
        id="other-event-allowed",
    ),
    pytest.param({}, {"enabled": False}, "policy_disabled", id="policy-disabled"),
    pytest.param(
        {}, {"repository_id": "1"}, "repository_id_mismatch", id="pinned-repo-id"
    ),
    pytest.param(
        {}, {"repository_owner_id": "1"}, "owner_id_mismatch", id="pinned-owner-id"
    ),
    pytest.param(
        {"sub": "repo:org/repo-a:ref:refs/heads/main", "repository": "org/repo-b"},
        {},
        "repository_mismatch",
        id="sub-names-policy-repo",
    ),
]


@pytest.mark.parametrize(("claims", "policy_fields", "detail_reason"), DENIED_CLAIMS)
def test_exchange_denied(client, issuer, agent, claims, policy_fields, detail_reason):
    fields = {"repository": "org/repo-a", "branch": "main", **policy_fields}
    factories.make_policy(agent, **fields)
    token = mint(issuer, **claims)

    response = exchange(client, token, agent.pk)
    body = response.json()

    assert response.status_code == 403
    assert body["error"] == "access_denied"
    assert body["reason"] == "no_matching_policy"
    assert ExchangeRecord.objects.count() == 1
    record = ExchangeRecord.objects.get()
    assert record.outcome == "denied"
    assert record.status_code == 403
    assert record.reason == "no_matching_policy"
    assert record.detail_reason == detail_reason
    assert record.agent_id == agent.pk
    assert token not in record_text(record)
    assert token.split(".")[2] not in record_text(record)
    assert UsedToken.objects.count() == 0


def test_denial_description_guides_admin(client, issuer, policy):
    token = mint(issuer, repository="org/repo-b", event_name="workflow_dispatch")

    response = exchange(client, token, policy.agent_id)
    description = response.json()["error_description"]

    assert response.status_code == 403
    assert "'org/repo-b'" in description
    assert "'refs/heads/main'" in description
    assert "'workflow_dispatch'" in description
    assert "POST /oidc/trust-policies" in description
    # The description names only what the token presented, never the policy.
    assert "repo-a" not in description
    assert response["Cache-Control"] == "no-store"


# Repository names that look like the policy's but are other repositories.
LOOKALIKE_REPOSITORIES = [
    pytest.param("acme/app", "acme/app-evil", id="name-suffix"),
    pytest.param("acme/app", "acme-evil/app", id="owner-suffix"),
    pytest.param("acme/app", "acme/app.git", id="git-suffix"),
    pytest.param("acme/app", "acme/evil-app", id="name-prefix"),
    pytest.param("acme/app", "acme/ap", id="name-truncated"),
    pytest.param("acme/app", "acme/\u0430pp", id="cyrillic-a"),
    pytest.param("acme/app", "\u0430cme/app", id="cyrillic-owner"),
    pytest.param("acme/kit", "acme/\u212ait", id="kelvin-sign"),
    pytest.param("acme/app", "acme/app ", id="trailing-space"),
    pytest.param("acme/app", "acme//app", id="double-slash"),
]


@pytest.mark.parametrize(("policy_repository", "repository"), LOOKALIKE_REPOSITORIES)
def test_lookalike_repository_denied(
    client, issuer, agent, policy_repository, repository
):
    factories.make_policy(agent, repository=policy_repository)
    token = mint(issuer, repository=repository)

    response = exchange(client, token, agent.pk)

    assert response.status_code == 403
    assert response.json()["reason"] == "no_matching_policy"
    assert ExchangeRecord.objects.get().detail_reason == "repository_mismatch"


# --- Pinning to GitHub's repository and owner ids -----------------------------


def test_first_match_pins_policy(client, issuer, policy):
    claims = issuer.claims()

    response = exchange(client, mint(issuer, claims), policy.agent_id)
    policy.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert policy.repository_id == claims["repository_id"]
    assert policy.repository_owner_id == claims["repository_owner_id"]
    assert policy.last_used_at is not None


def test_pinned_policy_keeps_tenant_ids(client, issuer, agent):
    repository_id = github_id("org/repo-a")
    policy = factories.make_policy(
        agent, repository_id=repository_id, repository_owner_id=""
    )

    response = exchange(client, mint(issuer), agent.pk)
    policy.refresh_from_db()

    assert response.status_code == 200, response.json()
    assert policy.repository_id == repository_id
    assert policy.repository_owner_id == github_id("org")


# Tokens presented after a first exchange pinned the policy for org/repo-a.
AFTER_PINNING = [
    pytest.param(
        {"repository_id": "987654321"},
        "repository_id_mismatch",
        id="repository-recreated",
    ),
    pytest.param(
        {"repository_owner_id": "987654321"},
        "owner_id_mismatch",
        id="owner-taken-over",
    ),
    pytest.param(
        {"repository": "org/repo-renamed", "repository_id": github_id("org/repo-a")},
        "repository_renamed",
        id="repository-renamed",
    ),
]


@pytest.mark.parametrize(("claims", "detail_reason"), AFTER_PINNING)
def test_pinned_policy_denies(client, issuer, policy, claims, detail_reason):
    first = exchange(client, mint(issuer), policy.agent_id)
    token = mint(issuer, **claims)

    response = exchange(client, token, policy.agent_id)
    policy.refresh_from_db()

    assert first.status_code == 200, first.json()
    assert response.status_code == 403
    assert response.json()["reason"] == "no_matching_policy"
    assert ExchangeRecord.objects.count() == 2
    record = ExchangeRecord.objects.filter(status_code=403).get()
    assert record.detail_reason == detail_reason
    assert policy.repository_id == github_id("org/repo-a")
    assert policy.repository_owner_id == github_id("org")


def test_renamed_repository_policy_updated(client, issuer, policy, api_client):
    """After a rename on GitHub, the tenant updates the name and keeps the pin."""
    exchange(client, mint(issuer), policy.agent_id)
    renamed = {"repository": "org/repo-new", "repository_id": github_id("org/repo-a")}
    denied = exchange(client, mint(issuer, **renamed), policy.agent_id)

    update = api_client.patch(
        f"/oidc/trust-policies/{policy.pk}",
        {"repository": "org/repo-new"},
        format="json",
    )
    accepted = exchange(client, mint(issuer, **renamed), policy.agent_id)
    policy.refresh_from_db()

    assert denied.status_code == 403
    assert update.status_code == 200, update.json()
    assert accepted.status_code == 200, accepted.json()
    assert policy.repository_id == github_id("org/repo-a")


# --- Denied agents: every 403 has the same body --------------------------------


def unknown_agent(tenant, other_tenant):
    return uuid.uuid4(), "agent_not_found"


def agent_without_policy(tenant, other_tenant):
    return factories.make_agent(tenant, "lonely").pk, "no_policy"


def disabled_agent(tenant, other_tenant):
    agent = factories.make_agent(tenant, "retired", status=Agent.Status.DISABLED)
    factories.make_policy(agent, repository="org/repo-a")
    return agent.pk, "agent_disabled"


def agent_of_other_tenant(tenant, other_tenant):
    own = factories.make_agent(tenant, "deployer")
    factories.make_policy(own, repository="org/repo-a")
    return factories.make_agent(other_tenant, "deployer").pk, "no_policy"


def policy_of_other_tenant(tenant, other_tenant):
    """A policy row of one tenant naming another tenant's agent grants nothing."""
    target = factories.make_agent(other_tenant, "payments")
    factories.make_policy(target, tenant=tenant, repository="org/repo-a")
    return target.pk, "no_policy"


DENIED_AGENTS = [
    pytest.param(unknown_agent, id="unknown-agent"),
    pytest.param(agent_without_policy, id="no-policy"),
    pytest.param(disabled_agent, id="disabled-agent"),
    pytest.param(agent_of_other_tenant, id="other-tenant-agent"),
    pytest.param(policy_of_other_tenant, id="other-tenant-policy"),
]


@pytest.mark.parametrize("make_agent", DENIED_AGENTS)
def test_denied_agent_same_body(client, issuer, tenant, other_tenant, make_agent):
    agent_id, detail_reason = make_agent(tenant, other_tenant)
    reference = exchange(client, mint(issuer), uuid.uuid4())

    response = exchange(client, mint(issuer), agent_id)

    assert response.status_code == 403
    assert response.json()["reason"] == "no_matching_policy"
    assert response.json() == reference.json()
    assert ExchangeRecord.objects.count() == 2
    record = ExchangeRecord.objects.get(requested_agent_id=str(agent_id))
    assert record.detail_reason == detail_reason


def test_disabled_agent_record(client, issuer, policy):
    Agent.objects.filter(pk=policy.agent_id).update(status=Agent.Status.DISABLED)

    response = exchange(client, mint(issuer), policy.agent_id)

    assert response.status_code == 403
    assert response.json()["reason"] == "no_matching_policy"
    record = ExchangeRecord.objects.get()
    assert record.detail_reason == "agent_disabled"
    assert record.tenant_id == policy.tenant_id
    assert record.agent_id == policy.agent_id
    assert UsedToken.objects.count() == 0


# --- Rejected tokens: 401 invalid_grant ---------------------------------------

# Tokens built from the trusted issuer, and the reason each is rejected with.
INVALID_TOKENS = [
    # Times: exp, nbf and iat with 60 s of leeway, and GitHub's lifetime.
    pytest.param(
        lambda issuer: mint(
            issuer, exp=now() - 700, iat=now() - 1000, nbf=now() - 1600
        ),
        "token_expired",
        id="expired",
    ),
    pytest.param(
        lambda issuer: mint(issuer, exp=now() - 90, iat=now() - 390),
        "token_expired",
        id="expired-past-leeway",
    ),
    pytest.param(
        lambda issuer: mint(issuer, nbf=now() + 600, exp=now() + 900),
        "token_not_yet_valid",
        id="not-yet-valid",
    ),
    pytest.param(
        lambda issuer: mint(issuer, iat=now() + 600, nbf=None, exp=now() + 900),
        "token_issued_in_future",
        id="iat-in-future",
    ),
    pytest.param(
        lambda issuer: mint(issuer, exp=now() + 7200),
        "token_lifetime_too_long",
        id="lifetime-too-long",
    ),
    pytest.param(
        lambda issuer: mint(issuer, iat=now(), exp=now()),
        "token_lifetime_too_long",
        id="exp-equals-iat",
    ),
    pytest.param(
        lambda issuer: mint(issuer, exp=str(now() + 300)),
        "missing_claim",
        id="exp-string",
    ),
    pytest.param(
        lambda issuer: mint(issuer, nbf=str(now())), "invalid_claim", id="nbf-string"
    ),
    # Audience: exactly the configured one, never a list.
    pytest.param(
        lambda issuer: mint(issuer, aud="https://github.com/org"),
        "invalid_audience",
        id="github-default-audience",
    ),
    pytest.param(
        lambda issuer: mint(issuer, aud=[AUDIENCE, "https://github.com/org"]),
        "invalid_audience",
        id="several-audiences",
    ),
    pytest.param(
        lambda issuer: mint(issuer, aud=[AUDIENCE]),
        "invalid_audience",
        id="audience-list",
    ),
    pytest.param(
        lambda issuer: mint(issuer, aud=AUDIENCE + "/"),
        "invalid_audience",
        id="audience-trailing-slash",
    ),
    pytest.param(
        lambda issuer: mint(issuer, aud=None), "invalid_audience", id="no-audience"
    ),
    # Algorithm and header.
    pytest.param(unsigned_token, "unsupported_algorithm", id="alg-none"),
    pytest.param(hs256_with_public_key, "unsupported_algorithm", id="hs256-public-key"),
    pytest.param(rs512_token, "unsupported_algorithm", id="rs512"),
    pytest.param(
        lambda issuer: header_without(issuer, "alg"),
        "unsupported_algorithm",
        id="no-alg",
    ),
    pytest.param(
        lambda issuer: header_without(issuer, "kid"), "missing_kid", id="no-kid"
    ),
    pytest.param(
        lambda issuer: mint(issuer, headers={"crit": ["exp"]}),
        "unsupported_header",
        id="crit-header",
    ),
    # Key and signature.
    pytest.param(unknown_kid_token, "unknown_kid", id="unknown-kid"),
    pytest.param(
        lambda issuer: flip_signature_byte(mint(issuer)),
        "bad_signature",
        id="bad-signature",
    ),
    # Claims of the wrong type count as missing.
    pytest.param(
        lambda issuer: mint(issuer, repository=""), "missing_claim", id="empty-repo"
    ),
    pytest.param(
        lambda issuer: mint(issuer, repository_id=123),
        "missing_claim",
        id="repository-id-number",
    ),
]


@pytest.mark.parametrize(("make_token", "reason"), INVALID_TOKENS)
def test_exchange_invalid_token(client, issuer, policy, make_token, reason):
    token = make_token(issuer)

    response = exchange(client, token, policy.agent_id)
    body = response.json()

    assert response.status_code == 401
    assert body["error"] == "invalid_grant"
    assert body["reason"] == reason
    assert ExchangeRecord.objects.count() == 1
    record = ExchangeRecord.objects.get()
    assert record.outcome == "denied"
    assert record.status_code == 401
    assert record.reason == reason
    assert record.detail_reason == reason
    assert token not in record_text(record)
    assert UsedToken.objects.count() == 0


REQUIRED_CLAIMS = [
    "jti",
    "sub",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "ref",
    "event_name",
    "exp",
    "iat",
]


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_exchange_missing_claim(client, issuer, policy, claim):
    token = token_without(issuer, claim)

    response = exchange(client, token, policy.agent_id)
    body = response.json()

    assert response.status_code == 401
    assert body["reason"] == "missing_claim"
    assert f"'{claim}'" in body["error_description"]
    record = ExchangeRecord.objects.get()
    assert record.reason == "missing_claim"
    assert token not in record_text(record)


# Issuers the service does not trust. The test replaces {issuer} and {rogue}
# with the URLs of the trusted local issuer and of an untrusted one.
UNTRUSTED_ISSUERS = [
    pytest.param(GITHUB_ISSUER, id="github-not-configured"),
    pytest.param("{issuer}/", id="trailing-slash"),
    pytest.param("{rogue}", id="rogue-issuer"),
    pytest.param("{issuer}/../", id="path-suffix"),
    pytest.param(None, id="no-issuer"),
]


@pytest.mark.parametrize("token_issuer", UNTRUSTED_ISSUERS)
def test_untrusted_issuer_never_fetched(
    client, issuer, rogue_issuer, policy, token_issuer
):
    if token_issuer is not None:
        token_issuer = token_issuer.format(issuer=issuer.url, rogue=rogue_issuer.url)
    rogue_issuer.requests.clear()
    token = mint(rogue_issuer, iss=token_issuer, aud=AUDIENCE)

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 401
    assert response.json()["reason"] == "untrusted_issuer"
    assert issuer.requests == []
    assert rogue_issuer.requests == []
    assert ExchangeRecord.objects.get().reason == "untrusted_issuer"


def test_header_jku_ignored(client, issuer, rogue_issuer, policy):
    rogue_issuer.requests.clear()
    token = mint(
        rogue_issuer,
        iss=issuer.url,
        aud=AUDIENCE,
        headers={"jku": f"{rogue_issuer.url}/.well-known/jwks"},
    )

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 401
    assert response.json()["reason"] == "unknown_kid"
    assert rogue_issuer.requests == []


def test_header_embedded_jwk_ignored(client, issuer, rogue_issuer, policy):
    """A token signed by another key, naming a trusted kid, embedding its key."""
    rogue_kid = rogue_issuer.active_kid
    embedded = jwk.construct(rogue_issuer.keys[rogue_kid], algorithm="RS256")
    token = jwt.encode(
        issuer.claims(),
        rogue_issuer.keys[rogue_kid],
        algorithm="RS256",
        headers={
            "kid": issuer.active_kid,
            "jwk": embedded.public_key().to_dict(),
            "x5u": f"{rogue_issuer.url}/.well-known/jwks",
        },
    )

    response = exchange(client, token, policy.agent_id)

    assert response.status_code == 401
    assert response.json()["reason"] == "bad_signature"


# --- Replay -------------------------------------------------------------------


def test_replayed_token_rejected(client, issuer, policy):
    token = mint(issuer)

    first = exchange(client, token, policy.agent_id)
    second = exchange(client, token, policy.agent_id)

    assert first.status_code == 200, first.json()
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_grant"
    assert second.json()["reason"] == "token_replayed"
    assert ExchangeRecord.objects.count() == 2
    assert UsedToken.objects.count() == 1
    replay = ExchangeRecord.objects.filter(reason="token_replayed").get()
    assert replay.outcome == "denied"
    assert replay.issued_jti == ""
    assert token not in record_text(replay)


def test_denied_token_not_claimed(client, issuer, policy):
    """A token denied by policy is not used up, so a fixed policy can accept it."""
    token = mint(issuer, ref="refs/heads/dev")

    denied = exchange(client, token, policy.agent_id)
    policy.branch = "dev"
    policy.save()
    accepted = exchange(client, token, policy.agent_id)

    assert denied.status_code == 403
    assert accepted.status_code == 200, accepted.json()


def test_replay_for_other_agent_rejected(client, issuer, tenant, policy):
    second_agent = factories.make_agent(tenant, "reviewer")
    factories.make_policy(second_agent, repository="org/repo-a")
    token = mint(issuer)

    first = exchange(client, token, policy.agent_id)
    second = exchange(client, token, second_agent.pk)

    assert first.status_code == 200, first.json()
    assert second.status_code == 401
    assert second.json()["reason"] == "token_replayed"


# --- Malformed requests: 400 and 413 ------------------------------------------

NOT_UTF8_PAYLOAD = encode_part({"alg": "RS256"}) + "." + b64url(b"\xff") + ".e30"
# RFC 6749 error codes other than invalid_request, by reason code.
ERRORS = {"unsupported_grant_type": "unsupported_grant_type"}

# Parameters of otherwise valid requests. ``None`` leaves a parameter out.
INVALID_PARAMETERS = [
    pytest.param({"grant_type": None}, "missing_parameter", id="no-grant-type"),
    pytest.param({"subject_token": None}, "missing_parameter", id="no-subject-token"),
    pytest.param(
        {"subject_token_type": None}, "missing_parameter", id="no-subject-token-type"
    ),
    pytest.param({"agent_id": None}, "missing_parameter", id="no-agent-id"),
    pytest.param({"agent_id": ""}, "missing_parameter", id="empty-agent-id"),
    pytest.param({"agent_id": "deployer"}, "invalid_parameter", id="agent-name"),
    pytest.param({"agent_id": "1234"}, "invalid_parameter", id="agent-number"),
    pytest.param(
        {"grant_type": "client_credentials"},
        "unsupported_grant_type",
        id="client-credentials",
    ),
    pytest.param(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
        "unsupported_grant_type",
        id="jwt-bearer",
    ),
    pytest.param(
        {"subject_token_type": "urn:ietf:params:oauth:token-type:access_token"},
        "unsupported_token_type",
        id="access-token-type",
    ),
    pytest.param(
        {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        "invalid_parameter",
        id="refresh-token-requested",
    ),
    pytest.param({"subject_token": "e30.e30"}, "malformed_token", id="two-parts"),
    pytest.param({"subject_token": "e30.e30.e30.e30.e30"}, "malformed_token", id="jwe"),
    pytest.param({"subject_token": "e30.e30.e30.e30"}, "malformed_token", id="four"),
    pytest.param({"subject_token": "e30.!!!.e30"}, "malformed_token", id="bad-b64"),
    pytest.param({"subject_token": "abc.e30.e30"}, "malformed_token", id="not-json"),
    pytest.param({"subject_token": "W10.e30.e30"}, "malformed_token", id="array"),
    pytest.param({"subject_token": "e30.e30=.e30"}, "malformed_token", id="padding"),
    pytest.param(
        {"subject_token": NOT_UTF8_PAYLOAD}, "malformed_token", id="payload-not-utf8"
    ),
]


@pytest.mark.parametrize(("overrides", "reason"), INVALID_PARAMETERS)
def test_exchange_invalid_parameters(client, issuer, policy, overrides, reason):
    params = {**exchange_params(mint(issuer), policy.agent_id), **overrides}
    params = {name: value for name, value in params.items() if value is not None}

    response = post_form(client, params)
    body = response.json()

    assert response.status_code == 400
    assert body["reason"] == reason
    assert body["error"] == ERRORS.get(reason, "invalid_request")
    assert ExchangeRecord.objects.count() == 1
    record = ExchangeRecord.objects.get()
    assert record.outcome == "denied"
    assert record.status_code == 400
    assert record.reason == reason
    assert UsedToken.objects.count() == 0
    assert issuer.requests == []


def test_duplicate_parameter_rejected(client, issuer, policy):
    params = exchange_params(mint(issuer), policy.agent_id)
    body = "&".join(
        [
            f"grant_type={params['grant_type']}",
            f"subject_token={params['subject_token']}",
            f"subject_token_type={params['subject_token_type']}",
            f"agent_id={uuid.uuid4()}",
            f"agent_id={policy.agent_id}",
        ]
    )

    response = client.post(
        "/oidc/token", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_parameter"
    assert ExchangeRecord.objects.count() == 1


# Request bodies that cannot be read as parameters.
MALFORMED_BODIES = [
    pytest.param("{not json", "application/json", id="invalid-json"),
    pytest.param("[1, 2]", "application/json", id="json-array"),
    pytest.param('"text"', "application/json", id="json-string"),
    pytest.param("grant_type=x", "text/plain", id="text-plain"),
]


@pytest.mark.parametrize(("content", "content_type"), MALFORMED_BODIES)
def test_exchange_malformed_body(client, content, content_type):
    response = client.post("/oidc/token", content, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["reason"] == "malformed_body"
    assert ExchangeRecord.objects.get().reason == "malformed_body"


def test_exchange_multipart_rejected(client, issuer, policy):
    response = client.post(
        "/oidc/token", exchange_params(mint(issuer), policy.agent_id)
    )

    assert response.status_code == 400
    assert response.json()["reason"] == "malformed_body"
    assert ExchangeRecord.objects.count() == 1


def test_json_parameter_not_string(client, issuer, policy):
    params = exchange_params(mint(issuer), policy.agent_id)
    params["agent_id"] = [str(policy.agent_id)]

    response = post_json(client, params)

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_parameter"


def test_body_over_limit_rejected(client, issuer, policy):
    params = exchange_params(mint(issuer), policy.agent_id)
    params["padding"] = "x" * (16 * 1024)

    response = post_form(client, params)

    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"
    assert ExchangeRecord.objects.get().status_code == 413
    assert UsedToken.objects.count() == 0


def test_token_over_limit_rejected(client, issuer, policy):
    token = mint(issuer, padding="x" * (8 * 1024))

    response = exchange(client, token, policy.agent_id)

    assert len(token) > 8 * 1024
    assert len(token) < 16 * 1024 - 512
    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"
    record = ExchangeRecord.objects.get()
    assert record.status_code == 413
    assert token not in record_text(record)


def test_token_at_limit_accepted(client, issuer, policy):
    limit = 8 * 1024
    claims = issuer.claims(padding="")
    # Each 3 bytes of padding add 4 base64url characters to the token.
    padding_length = (limit - len(mint(issuer, claims))) * 3 // 4 + 3
    token = mint(issuer, claims)
    while True:
        claims["padding"] = "x" * padding_length
        token = mint(issuer, claims)
        if len(token) <= limit:
            break
        padding_length -= 1

    response = exchange(client, token, policy.agent_id)

    assert len(token) > limit - 8
    assert response.status_code == 200, response.json()


def test_get_not_allowed(client):
    response = client.get("/oidc/token")

    assert response.status_code == 405


# --- Values that PostgreSQL text columns cannot store ----------------------------


def nul_agent_id(client, issuer, policy):
    return exchange(client, mint(issuer), "\x00" + str(policy.agent_id))


def nul_in_forged_claim(client, issuer, policy):
    token = flip_signature_byte(mint(issuer, sub="repo:org/repo-a\x00:ref:x"))
    return exchange(client, token, policy.agent_id)


def nul_in_user_agent(client, issuer, policy):
    params = exchange_params(mint(issuer), policy.agent_id, grant_type="password")
    return client.post(
        "/oidc/token",
        params,
        content_type="application/json",
        HTTP_USER_AGENT="curl\x00/8",
    )


# Requests carrying a NUL character, each of which must still be recorded.
NUL_REQUESTS = [
    pytest.param(nul_agent_id, 400, id="agent-id"),
    pytest.param(nul_in_forged_claim, 401, id="unverified-claim"),
    pytest.param(nul_in_user_agent, 400, id="user-agent"),
]


@pytest.mark.parametrize(("send", "status"), NUL_REQUESTS)
def test_nul_character_recorded(client, issuer, policy, send, status):
    response = send(client, issuer, policy)

    assert response.status_code == status
    assert ExchangeRecord.objects.count() == 1
    assert "\x00" not in record_text(ExchangeRecord.objects.get())


def test_registration_policy_grants_no_token(client, issuer, agent):
    factories.make_policy(None, tenant=agent.tenant, repository="org/repo-a")

    response = exchange(client, mint(issuer), agent.pk)

    assert response.status_code == 403
    assert ExchangeRecord.objects.get().detail_reason == "no_policy"
