"""Shared fixtures: a local OIDC issuer, tenants, API clients and a live service."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from devtools.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
from tests import factories

PROJECT_DIR = Path(__file__).resolve().parent.parent
AUDIENCE = DEFAULT_AUDIENCE
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def local_issuer():
    with LocalIssuer() as issuer:
        yield issuer


@pytest.fixture
def issuer(local_issuer, settings):
    """The local issuer, trusted by the in-process service."""
    settings.GITHUB_OIDC_ISSUERS = [local_issuer.url]
    settings.GITHUB_OIDC_AUDIENCE = AUDIENCE
    settings.GITHUB_OIDC_JWKS_FILE = None
    local_issuer.jwks_status = 200
    local_issuer.jwks_delay = 0.0
    local_issuer.discovery_overrides = {}
    local_issuer.requests.clear()
    return local_issuer


@pytest.fixture
def tenant(db):
    return factories.make_tenant("acme")


@pytest.fixture
def tenant_admin(tenant):
    return factories.make_tenant_admin(tenant, "acme-admin")


@pytest.fixture
def api_client(tenant_admin):
    """An API client authenticated with the tenant admin's API token."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {factories.make_api_token(tenant_admin)}"
    )
    return client


@pytest.fixture
def agent(tenant):
    return factories.make_agent(tenant, "deployer")


@pytest.fixture
def policy(agent):
    return factories.make_policy(agent, repository="org/repo-a", branch="main")


def exchange_params(subject_token: str, agent_id, **overrides) -> dict:
    params = {
        "grant_type": GRANT_TYPE,
        "subject_token": subject_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "agent_id": str(agent_id),
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """Return a DATABASE_URL for the test database the suite is using."""
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = config.get("HOST") or "localhost"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{config['NAME']}"


class LiveService:
    """SentryAgent under gunicorn on loopback, sharing the test database."""

    def __init__(self, issuer: LocalIssuer, workers: int = 2, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sentryagent.settings",
            "SECRET_KEY": "test-only-secret-key-not-for-production",
            "DEBUG": "false",
            "DATABASE_URL": database_url(),
            "SENTRYAGENT_ISSUER": self.url,
            "GITHUB_OIDC_ISSUER": issuer.url,
            "GITHUB_OIDC_AUDIENCE": AUDIENCE,
            **env,
        }
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(
            mode="w+", prefix="gunicorn-", suffix=".log", delete=False
        )

    def start(self) -> "LiveService":
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--access-logfile",
                "-",
                "sentryagent.wsgi:application",
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            try:
                requests.get(f"{self.url}/oidc/audience", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not respond within 30 s")

    def output(self) -> str:
        """Return everything gunicorn and the app have printed so far."""
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> str:
        """Stop gunicorn and return what it printed."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        return self.output()


@pytest.fixture(scope="session")
def live_service(django_db_setup, django_db_blocker, local_issuer):
    """SentryAgent under gunicorn. Tests that use it need ``transactional_db``."""
    service = LiveService(local_issuer).start()
    yield service
    service.stop()


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    return f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}"
