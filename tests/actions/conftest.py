"""Fixtures of the actions' tests: the runner's token endpoint and a stub service."""

import sys

import pytest

from tests import factories
from tests.actions.harness import ACTIONS_CODE_DIR, RunnerTokenEndpoint, StubService

# The unit tests import the actions' package the way its entry scripts do.
if str(ACTIONS_CODE_DIR) not in sys.path:
    sys.path.insert(0, str(ACTIONS_CODE_DIR))


@pytest.fixture
def token_endpoint(local_issuer):
    """The runner's OIDC token endpoint, on loopback."""
    with RunnerTokenEndpoint(local_issuer) as endpoint:
        yield endpoint


@pytest.fixture
def stub_service():
    with StubService() as stub:
        yield stub


@pytest.fixture
def registration_policy(tenant):
    """Lets org/repo-a register agents in the acme tenant from main."""
    return factories.make_policy(tenant=tenant, repository="org/repo-a", branch="main")
