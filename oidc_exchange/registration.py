"""Registration from CI: a workflow registers its own agent with its OIDC token.

``register_agent`` is the whole path. In order, it reads the parameters,
verifies the GitHub token as the exchange does, finds the registration policy
that matches it and claims the jti. Then it creates the agent with a trust
policy that binds it to the registering repository, or returns the agent that
this repository registered before.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.models import Agent, Tenant
from agents.validation import validate_agent_name
from oidc_exchange import errors, github
from oidc_exchange.exchange import (
    claim_jti,
    read_parameter,
    verify_subject_token,
)
from oidc_exchange.records import Attempt
from policies import matching
from policies.models import TrustPolicy

MAX_DESCRIPTION_LENGTH = 1000  # characters
# Tenant slugs, as Django's SlugField allows them.
TENANT_SLUG_PATTERN = re.compile(r"[-a-zA-Z0-9_]{1,63}")


@dataclass
class Registration:
    agent: Agent
    created: bool


def register_agent(params: Mapping[str, Any], attempt: Attempt) -> Registration:
    """Run the registration; return the agent or raise an ExchangeError."""
    subject_token = read_parameter(params, "subject_token", max_length=8192)
    name = read_parameter(params, "name", max_length=100)
    try:
        validate_agent_name(name)
    except ValidationError as error:
        raise errors.InvalidParameter(error.messages[0]) from None
    # Optional parameters: null or absent means not sent; any other non-string
    # is an error, so that false or 0 are not read as "not sent".
    description = params.get("description")
    description = "" if description is None else description
    valid_description = (
        isinstance(description, str)
        and len(description) <= MAX_DESCRIPTION_LENGTH
        and "\x00" not in description
    )
    if not valid_description:
        raise errors.InvalidParameter(
            f"The description must be a string of at most {MAX_DESCRIPTION_LENGTH} "
            "characters, without NUL characters."
        )
    tenant_slug = params.get("tenant")
    tenant_slug = "" if tenant_slug is None else tenant_slug
    valid_tenant = isinstance(tenant_slug, str) and (
        not tenant_slug or TENANT_SLUG_PATTERN.fullmatch(tenant_slug) is not None
    )
    if not valid_tenant:
        raise errors.InvalidParameter(
            "The tenant must be a tenant slug, such as 'acme': letters, digits, "
            "'-' and '_', at most 63 characters."
        )

    verified = verify_subject_token(subject_token, attempt)
    identity = verified.identity()

    policy = find_registration_policy(identity, tenant_slug, attempt)
    claim_jti(verified)
    matching.record_use(policy, identity)

    registration = create_or_find_agent(policy, name, description, verified)
    attempt.set(agent=registration.agent)
    return registration


def find_registration_policy(
    identity: matching.WorkflowIdentity, tenant_slug: str, attempt: Attempt
) -> TrustPolicy:
    """Return the one matching registration policy, in one tenant."""
    candidates = TrustPolicy.objects.filter(
        agent__isnull=True, repository__iexact=identity.repository
    ).select_related("tenant")
    if tenant_slug:
        candidates = candidates.filter(tenant__slug=tenant_slug)
    result_by_tenant: dict[Tenant, TrustPolicy] = {}
    evaluations = []
    for policy in candidates:
        evaluation = matching.evaluate(policy, identity)
        evaluations.append(evaluation)
        if evaluation.matched:
            result_by_tenant.setdefault(policy.tenant, policy)
    # Until one tenant is chosen, the record has no tenant, so the checks of
    # every tenant's policies are shown to superusers only.
    attempt.set(checks=matching.MatchResult(None, "", evaluations).as_log_details())

    if not result_by_tenant:
        detail = matching.match([e.policy for e in evaluations], identity).reason
        raise registration_denied(identity, detail)
    if len(result_by_tenant) > 1:
        slugs = ", ".join(sorted(tenant.slug for tenant in result_by_tenant))
        raise errors.AmbiguousTenant(
            f"Repository {identity.repository!r} may register agents in several "
            f"tenants ({slugs}). Choose one with the 'tenant' parameter (the "
            "register-agent action's 'tenant' input)."
        )
    tenant, policy = next(iter(result_by_tenant.items()))
    tenant_evaluations = [e for e in evaluations if e.policy.tenant_id == tenant.pk]
    attempt.set(
        tenant_id=tenant.pk,
        policy=policy,
        checks=matching.MatchResult(policy, "", tenant_evaluations).as_log_details(),
    )
    return policy


def registration_denied(
    identity: matching.WorkflowIdentity, detail_reason: str
) -> errors.AccessDenied:
    return errors.AccessDenied(
        f"No enabled registration policy allows repository {identity.repository!r} "
        f"(ref {identity.ref!r}, event {identity.event_name!r}) to register "
        "agents. A tenant admin can allow it in the admin under Trust policies, "
        "with no agent selected, or with POST /oidc/trust-policies and the body "
        f'{{"provider": "github", "repository": "{identity.repository}"}}.',
        detail_reason=detail_reason,
    )


def create_or_find_agent(
    policy: TrustPolicy, name: str, description: str, verified: github.VerifiedClaims
) -> Registration:
    """Create the agent and its trust policy, or return the one registered before.

    A concurrent registration of the same name loses the unique constraint
    race and then finds the winner's agent.
    """
    claims = verified.claims
    try:
        with transaction.atomic():
            existing = Agent.objects.filter(tenant=policy.tenant, name=name).first()
            if existing is not None:
                return Registration(_registered_by_repository(existing, claims), False)
            agent = Agent.objects.create(
                tenant=policy.tenant,
                name=name,
                description=description,
                registered_via=Agent.RegisteredVia.GITHUB_OIDC,
                registered_repository=claims["repository"],
                registered_repository_id=claims["repository_id"],
                registered_run_id=str(claims.get("run_id", ""))[:32],
            )
            TrustPolicy.objects.create(
                tenant=policy.tenant,
                agent=agent,
                issuer=policy.issuer,
                repository=claims["repository"],
                branch=policy.branch,
                allowed_events=policy.allowed_events,
                repository_id=claims["repository_id"],
                repository_owner_id=claims["repository_owner_id"],
                description=(
                    f"Created when {claims['repository']} registered this agent "
                    f"in run {claims.get('run_id', '')}."
                ),
            )
    except IntegrityError:
        existing = Agent.objects.get(tenant=policy.tenant, name=name)
        return Registration(_registered_by_repository(existing, claims), False)
    return Registration(agent, True)


def _registered_by_repository(agent: Agent, claims: dict) -> Agent:
    """Return the agent if this repository registered it, else raise a conflict."""
    same_repository = (
        agent.registered_via == Agent.RegisteredVia.GITHUB_OIDC
        and agent.registered_repository_id == claims["repository_id"]
    )
    if not same_repository:
        raise errors.AgentNameTaken(
            f"An agent named {agent.name!r} already exists in this tenant and was "
            "not registered by this repository. Choose another agent-name."
        )
    return agent
