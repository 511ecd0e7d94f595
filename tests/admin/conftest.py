"""Two tenants with an admin each, and clients signed in to the admin."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from oidc_exchange.models import ExchangeRecord
from tests import factories


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_tenant(db):
    return factories.make_tenant("globex")


@pytest.fixture
def other_admin(other_tenant):
    return factories.make_tenant_admin(other_tenant, "globex-admin")


@pytest.fixture
def admin_client(tenant_admin):
    """The first tenant's admin, signed in."""
    return signed_in(tenant_admin)


@pytest.fixture
def other_client(other_admin):
    """The second tenant's admin, signed in."""
    return signed_in(other_admin)


@pytest.fixture
def superuser_client(db):
    user = get_user_model().objects.create_superuser(
        "operator", password="correct-horse-battery"
    )
    return signed_in(user)


def make_record(agent, policy=None, **fields) -> ExchangeRecord:
    values = {
        "endpoint": ExchangeRecord.Endpoint.TOKEN,
        "outcome": ExchangeRecord.Outcome.ACCEPTED,
        "status_code": 200,
        "reason": "accepted",
        "tenant": agent.tenant,
        "agent": agent,
        "policy": policy,
        "repository": "org/repo-a",
        "ref": "refs/heads/main",
        "event_name": "push",
        "run_id": "4242",
    }
    values.update(fields)
    return ExchangeRecord.objects.create(**values)
