"""Factories for the rows most tests need."""

import itertools

from django.contrib.auth import get_user_model
from knox.models import AuthToken

from agents.models import Agent, Membership, Tenant
from agents.tenancy import tenant_admin_group
from policies.models import TrustPolicy

_sequence = itertools.count(1)


def make_tenant(slug: str | None = None) -> Tenant:
    slug = slug or f"tenant-{next(_sequence)}"
    return Tenant.objects.create(slug=slug, name=slug.title())


def make_tenant_admin(tenant: Tenant, username: str | None = None):
    user = get_user_model().objects.create_user(
        username=username or f"admin-{next(_sequence)}",
        password="correct-horse-battery",
        is_staff=True,
    )
    user.groups.add(tenant_admin_group())
    Membership.objects.create(user=user, tenant=tenant)
    return user


def make_api_token(user) -> str:
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return token


def make_agent(tenant: Tenant, name: str | None = None, **fields) -> Agent:
    return Agent.objects.create(
        tenant=tenant, name=name or f"agent-{next(_sequence)}", **fields
    )


def make_policy(
    agent: Agent | None = None,
    *,
    tenant: Tenant | None = None,
    repository: str = "org/repo-a",
    **fields,
) -> TrustPolicy:
    return TrustPolicy.objects.create(
        tenant=tenant or agent.tenant, agent=agent, repository=repository, **fields
    )
