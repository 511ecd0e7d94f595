"""Introspection (RFC 7662) and revocation (RFC 7009) of access tokens.

Both are for tenants: a tenant learns about, and revokes, only tokens of its
own agents. Any other token is reported inactive and revoking it does nothing,
so neither endpoint reveals what exists in another tenant.
"""

import logging
import uuid
from datetime import UTC, datetime

from agents.models import Agent, Tenant
from oidc_exchange.models import RevokedToken
from oidc_exchange.signing import InvalidAccessToken, verify_access_token

logger = logging.getLogger(__name__)

INACTIVE = {"active": False}


def _tenant_claims(token: str, tenant: Tenant) -> dict | None:
    """Return the verified claims if the token belongs to the tenant, else None."""
    try:
        claims = verify_access_token(token)
    except InvalidAccessToken:
        return None
    if claims.get("tenant") != str(tenant.pk):
        return None
    return claims


def introspect(token: str, tenant: Tenant) -> dict:
    """Return the RFC 7662 response for a token, as seen by the tenant."""
    claims = _tenant_claims(token, tenant)
    if claims is None:
        return INACTIVE
    try:
        agent_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        return INACTIVE
    agent_is_active = Agent.objects.filter(
        pk=agent_id, tenant=tenant, status=Agent.Status.ACTIVE
    ).exists()
    if not agent_is_active:
        return INACTIVE
    if RevokedToken.objects.filter(jti=claims["jti"]).exists():
        return INACTIVE
    return {
        "active": True,
        "token_type": "Bearer",
        **{
            name: claims[name]
            for name in ("iss", "sub", "aud", "iat", "nbf", "exp", "jti", "tenant")
            if name in claims
        },
        "act": claims.get("act", {}),
    }


def revoke(token: str, tenant: Tenant) -> None:
    """Revoke a token of one of the tenant's agents; ignore any other token."""
    claims = _tenant_claims(token, tenant)
    if claims is None:
        return
    agent = Agent.objects.filter(pk=_uuid_or_none(claims["sub"]), tenant=tenant).first()
    _, created = RevokedToken.objects.get_or_create(
        jti=claims["jti"],
        defaults={
            "tenant": tenant,
            "agent": agent,
            "expires_at": datetime.fromtimestamp(claims["exp"], tz=UTC),
        },
    )
    if created:
        logger.info(
            "access token revoked tenant=%s agent=%s jti=%s",
            tenant.pk,
            claims["sub"],
            claims["jti"],
        )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
