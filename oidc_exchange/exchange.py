"""The token exchange: a GitHub OIDC token in, an agent access token out.

``exchange_token`` is the whole path. In order, it reads the parameters,
parses the token and checks its size, reads the header, checks the issuer,
finds the key, verifies the signature and checks the claims. Then it matches
a trust policy, claims the jti and mints the access token. The view writes the
exchange log.
"""

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent
from oidc_exchange import errors, github
from oidc_exchange.models import UsedToken
from oidc_exchange.records import Attempt
from oidc_exchange.signing import mint_access_token
from policies import matching
from policies.models import TrustPolicy

GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = (TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT)
MAX_PARAMETER_LENGTH = 512  # characters, for every parameter but subject_token


def exchange_token(params: Mapping[str, Any], attempt: Attempt) -> dict[str, Any]:
    """Run the exchange; return the response body or raise an ExchangeError."""
    grant_type = read_parameter(params, "grant_type")
    if grant_type != GRANT_TYPE_TOKEN_EXCHANGE:
        raise errors.UnsupportedGrantType(
            f"Unsupported grant_type {grant_type[:100]!r}. Use "
            f"{GRANT_TYPE_TOKEN_EXCHANGE!r}."
        )
    subject_token = read_parameter(
        params, "subject_token", max_length=settings.GITHUB_OIDC_MAX_TOKEN_BYTES
    )
    subject_token_type = read_parameter(params, "subject_token_type")
    if subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise errors.UnsupportedTokenType(
            f"Unsupported subject_token_type {subject_token_type[:100]!r}. Use "
            f"{TOKEN_TYPE_ID_TOKEN!r} for a GitHub OIDC token."
        )
    requested = params.get("requested_token_type", TOKEN_TYPE_ACCESS_TOKEN)
    if requested != TOKEN_TYPE_ACCESS_TOKEN:
        raise errors.InvalidParameter(
            f"Unsupported requested_token_type. Only {TOKEN_TYPE_ACCESS_TOKEN!r} "
            "can be issued; leave the parameter out."
        )
    agent_id = read_agent_id(params, attempt)

    verified = verify_subject_token(subject_token, attempt)
    identity = verified.identity()

    agent, policy = match_policy(agent_id, identity, attempt)
    claim_jti(verified)
    matching.record_use(policy, identity)

    issued_at = timezone.now()
    access_token, jti, expires_at = mint_access_token(
        access_token_claims(agent, verified), issued_at=issued_at
    )
    attempt.set(issued_jti=jti, issued_expires_at=expires_at)
    return {
        "access_token": access_token,
        "issued_token_type": TOKEN_TYPE_ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": settings.SENTRYAGENT_TOKEN_LIFETIME,
        "expires_at": format_time(expires_at),
    }


def read_parameter(
    params: Mapping[str, Any], name: str, *, max_length: int = MAX_PARAMETER_LENGTH
) -> str:
    """Return a required string parameter that appears once."""
    if hasattr(params, "getlist") and len(params.getlist(name)) > 1:
        raise errors.InvalidParameter(
            f"The {name} parameter appears more than once. Send it once."
        )
    value = params.get(name)
    if value is None or value == "":
        raise errors.MissingParameter(f"The {name} parameter is missing.")
    if not isinstance(value, str):
        raise errors.InvalidParameter(f"The {name} parameter must be a string.")
    if len(value) > max_length:
        if name == "subject_token":
            raise errors.PayloadTooLarge(
                f"subject_token is longer than {max_length} characters. Send the "
                "OIDC token exactly as GitHub issued it."
            )
        raise errors.InvalidParameter(
            f"The {name} parameter is longer than {max_length} characters."
        )
    return value


def read_agent_id(params: Mapping[str, Any], attempt: Attempt) -> uuid.UUID:
    raw = read_parameter(params, "agent_id")
    attempt.set(requested_agent_id=raw[:64])
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise errors.InvalidParameter(
            f"Invalid agent_id {raw[:100]!r}. Use the agent's UUID, as output by "
            "the register-agent action or listed by GET /agents."
        ) from None


def verify_subject_token(compact: str, attempt: Attempt) -> github.VerifiedClaims:
    """Verify a GitHub OIDC token, recording its claims in the attempt."""
    token = github.parse_token(compact)
    attempt.add_claims(token.unverified_claims)
    kid = github.check_header(token)
    issuer = github.check_issuer(token)
    claims = github.verify_signature(token, issuer, kid)
    return github.check_claims(claims)


def match_policy(
    agent_id: uuid.UUID, identity: matching.WorkflowIdentity, attempt: Attempt
) -> tuple[Agent, TrustPolicy]:
    """Return the agent and the enabled policy that lets the identity act as it.

    Every denial raises the same AccessDenied for the caller, whether the agent
    is unknown, in another tenant, disabled, or simply not allowed, so a 403
    reveals neither agents nor policies. The record keeps the exact reason.
    """
    try:
        agent = Agent.objects.get(pk=agent_id)
    except Agent.DoesNotExist:
        raise access_denied(identity, "agent_not_found") from None
    attempt.set(tenant_id=agent.tenant_id, agent=agent)
    if not agent.is_active:
        raise access_denied(identity, "agent_disabled")

    # Ordered by the policy's own columns, so the query needs no join.
    policies = list(
        TrustPolicy.objects.filter(agent=agent, tenant=agent.tenant_id).order_by(
            "repository", "branch", "pk"
        )
    )
    result = matching.match(policies, identity)
    attempt.set(checks=result.as_log_details())
    if result.policy is None:
        raise access_denied(identity, result.reason)

    attempt.set(policy=result.policy)
    return agent, result.policy


def access_denied(
    identity: matching.WorkflowIdentity, detail_reason: str
) -> errors.AccessDenied:
    """Build the one 403 that every denial gets, with guidance for the reader."""
    suggestion = {"provider": "github", "repository": identity.repository}
    if identity.ref.startswith("refs/heads/"):
        suggestion["branch"] = identity.ref.removeprefix("refs/heads/")
    suggestion["agentId"] = "<agent id>"
    return errors.AccessDenied(
        f"No enabled trust policy allows repository {identity.repository!r} "
        f"(ref {identity.ref!r}, event {identity.event_name!r}) to act as this "
        "agent. A tenant admin can allow it in the admin under Trust policies, or "
        f"with POST /oidc/trust-policies and the body {json.dumps(suggestion)}.",
        detail_reason=detail_reason,
    )


def claim_jti(verified: github.VerifiedClaims) -> None:
    """Record the token's jti, so one GitHub token yields one access token.

    The unique constraint makes the claim atomic across processes.
    """
    try:
        with transaction.atomic():
            UsedToken.objects.create(
                issuer=verified.claims["iss"],
                jti=verified.claims["jti"][:128],
                expires_at=verified.expires_at,
            )
    except IntegrityError:
        raise errors.TokenReplayed(
            "This GitHub token has already been exchanged. Each token is accepted "
            "once: request a new one from GitHub for each exchange."
        ) from None


def access_token_claims(agent: Agent, verified: github.VerifiedClaims) -> dict:
    claims = verified.claims
    actor = {"iss": claims["iss"], "sub": claims["sub"]}
    for name in ("repository", "repository_id", "ref", "sha", "run_id"):
        if isinstance(claims.get(name), str):
            actor[name] = claims[name]
    return {"sub": str(agent.pk), "tenant": str(agent.tenant_id), "act": actor}


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
