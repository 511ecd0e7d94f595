"""Operator commands: create_tenant, create_api_token, rotate_signing_key and
purge_exchange_log."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from jose import jwt
from knox.models import AuthToken
from rest_framework.test import APIClient

from agents.models import Agent, Membership, Tenant
from agents.tenancy import TENANT_ADMIN_GROUP
from oidc_exchange.models import ExchangeRecord, SigningKey, UsedToken
from oidc_exchange.signing import mint_access_token
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    """Run a management command and return what it printed on stdout."""
    stdout = StringIO()
    call_command(*args, stdout=stdout, **options)
    return stdout.getvalue()


# --- create_tenant -----------------------------------------------------------------


def test_create_tenant_with_password(settings):
    settings.SENTRYAGENT_ADMIN_PASSWORD = "configured-pass-123"

    output = run(
        "create_tenant",
        "acme",
        admin="alice",
        name="Acme Corp",
        email="alice@example.com",
    )
    tenant = Tenant.objects.get(slug="acme")
    user = get_user_model().objects.get(username="alice")

    assert tenant.name == "Acme Corp"
    assert user.email == "alice@example.com"
    assert user.is_staff is True
    assert user.is_superuser is False
    assert user.check_password("configured-pass-123")
    assert Membership.objects.get(user=user).tenant == tenant
    assert user.groups.filter(name=TENANT_ADMIN_GROUP).exists()
    assert "configured-pass-123" not in output
    assert "Password" not in output


def test_create_tenant_generates_password(settings):
    settings.SENTRYAGENT_ADMIN_PASSWORD = ""

    output = run("create_tenant", "acme", admin="alice")
    match = re.search(r"Password of alice: (\S+)", output)
    user = get_user_model().objects.get(username="alice")

    assert match is not None, output
    assert len(match.group(1)) >= 16
    assert user.check_password(match.group(1))
    assert Tenant.objects.get(slug="acme").name == "acme"


def test_create_tenant_admin_can_log_in(settings, client):
    settings.SENTRYAGENT_ADMIN_PASSWORD = "configured-pass-123"
    run("create_tenant", "acme", admin="alice")

    logged_in = client.login(username="alice", password="configured-pass-123")
    response = client.get("/admin/agents/agent/")

    assert logged_in is True
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("slug", "admin", "message"),
    [
        pytest.param("Acme Corp", "alice", "Invalid tenant slug", id="bad-slug"),
        pytest.param("existing", "alice", "already exists", id="slug-taken"),
        pytest.param("acme", "taken", "already exists", id="admin-taken"),
    ],
)
def test_create_tenant_rejected(settings, slug, admin, message):
    settings.SENTRYAGENT_ADMIN_PASSWORD = "configured-pass-123"
    factories.make_tenant("existing")
    get_user_model().objects.create_user(username="taken")

    with pytest.raises(CommandError) as caught:
        run("create_tenant", slug, admin=admin)

    assert message in str(caught.value)
    assert Tenant.objects.count() == 1


def test_create_tenant_requires_admin():
    with pytest.raises(CommandError) as caught:
        run("create_tenant", "acme")

    assert "--admin" in str(caught.value)


# --- create_api_token --------------------------------------------------------------


def test_create_api_token_prints_token(tenant_admin, agent):
    output = run("create_api_token", tenant_admin.username)
    token = output.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get("/agents")

    assert output == token + "\n"
    assert re.fullmatch(r"\S{32,}", token), token
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_create_api_token_expiry(tenant_admin):
    before = timezone.now()

    run("create_api_token", tenant_admin.username, expires_in=7)
    expiry = AuthToken.objects.get(user=tenant_admin).expiry

    assert expiry >= before + timedelta(days=7)
    assert expiry <= timezone.now() + timedelta(days=7)


def test_create_api_token_default_expiry(tenant_admin):
    run("create_api_token", tenant_admin.username)
    expiry = AuthToken.objects.get(user=tenant_admin).expiry

    assert expiry > timezone.now() + timedelta(days=29)
    assert expiry < timezone.now() + timedelta(days=31)


def test_create_api_token_stores_digest(tenant_admin):
    token = run("create_api_token", tenant_admin.username).strip()
    stored = AuthToken.objects.get(user=tenant_admin)

    assert token not in stored.digest
    assert token.startswith(stored.token_key)


@pytest.mark.parametrize(
    ("username", "expires_in", "message"),
    [
        pytest.param("nobody", 30, "No user", id="unknown-user"),
        pytest.param("drifter", 30, "no tenant", id="user-without-tenant"),
        pytest.param("acme-admin", 0, "--expires-in", id="zero-days"),
        pytest.param("acme-admin", 367, "--expires-in", id="too-many-days"),
    ],
)
def test_create_api_token_rejected(tenant_admin, username, expires_in, message):
    get_user_model().objects.create_user(username="drifter")

    with pytest.raises(CommandError) as caught:
        run("create_api_token", username, expires_in=expires_in)

    assert message in str(caught.value)
    assert AuthToken.objects.count() == 0


# --- rotate_signing_key ------------------------------------------------------------


def test_rotate_signing_key(client, settings):
    old_token, _, _ = mint_access_token({"sub": "agent"}, issued_at=timezone.now())
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    output = run("rotate_signing_key")
    new_token, _, _ = mint_access_token({"sub": "agent"}, issued_at=timezone.now())
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    jwks = client.get("/.well-known/jwks.json").json()
    published = {key["kid"] for key in jwks["keys"]}

    assert new_kid != old_kid
    assert new_kid in output
    assert published == {old_kid, new_kid}
    assert SigningKey.objects.get(kid=old_kid).state == SigningKey.State.RETIRED
    assert SigningKey.objects.get(kid=new_kid).state == SigningKey.State.ACTIVE
    for token in (old_token, new_token):
        claims = jwt.decode(
            token,
            jwks,
            algorithms=["RS256"],
            audience=settings.SENTRYAGENT_ISSUER,
            issuer=settings.SENTRYAGENT_ISSUER,
        )
        assert claims["sub"] == "agent"


def test_rotate_without_key_creates_one(client):
    output = run("rotate_signing_key")
    jwks = client.get("/.well-known/jwks.json").json()

    assert SigningKey.objects.count() == 1
    assert [key["kid"] for key in jwks["keys"]] == [SigningKey.objects.get().kid]
    assert SigningKey.objects.get().kid in output


def test_retired_key_leaves_jwks(client, settings):
    run("rotate_signing_key")
    old_kid = SigningKey.objects.get().kid
    run("rotate_signing_key")
    lifetime = settings.SENTRYAGENT_TOKEN_LIFETIME
    SigningKey.objects.filter(kid=old_kid).update(
        retired_at=timezone.now() - timedelta(seconds=lifetime + 1)
    )

    jwks = client.get("/.well-known/jwks.json").json()
    published = {key["kid"] for key in jwks["keys"]}

    assert old_kid not in published
    assert len(published) == 1


# --- purge_exchange_log ------------------------------------------------------------


def make_record(days_old: float) -> ExchangeRecord:
    record = ExchangeRecord.objects.create(
        endpoint=ExchangeRecord.Endpoint.TOKEN,
        outcome=ExchangeRecord.Outcome.DENIED,
        status_code=403,
        reason="no_matching_policy",
    )
    created_at = timezone.now() - timedelta(days=days_old)
    ExchangeRecord.objects.filter(pk=record.pk).update(created_at=created_at)
    return record


def make_used_token(expired_hours_ago: float) -> UsedToken:
    return UsedToken.objects.create(
        issuer="https://token.actions.githubusercontent.com",
        jti=f"jti-{expired_hours_ago}",
        expires_at=timezone.now() - timedelta(hours=expired_hours_ago),
    )


def test_purge_exchange_log(agent):
    old = make_record(days_old=31)
    recent = make_record(days_old=29)
    expired = make_used_token(expired_hours_ago=2)
    live = make_used_token(expired_hours_ago=-0.1)

    output = run("purge_exchange_log", older_than=30)
    remaining_records = set(ExchangeRecord.objects.values_list("pk", flat=True))
    remaining_tokens = set(UsedToken.objects.values_list("pk", flat=True))

    assert remaining_records == {recent.pk}
    assert old.pk not in remaining_records
    assert remaining_tokens == {live.pk}
    assert expired.pk not in remaining_tokens
    assert "1 exchange records" in output
    assert "1 replay entries" in output
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_purge_keeps_recently_expired_jti():
    """A jti stays claimed for an hour after its token expired, past the leeway."""
    recent = make_used_token(expired_hours_ago=0.5)

    run("purge_exchange_log", older_than=1)

    assert UsedToken.objects.filter(pk=recent.pk).exists()


@pytest.mark.parametrize("days", [0, -1])
def test_purge_rejects_days(days):
    make_record(days_old=10)

    with pytest.raises(CommandError) as caught:
        run("purge_exchange_log", older_than=days)

    assert "--older-than" in str(caught.value)
    assert ExchangeRecord.objects.count() == 1


def test_purge_requires_days():
    with pytest.raises(CommandError) as caught:
        run("purge_exchange_log")

    assert "--older-than" in str(caught.value)
