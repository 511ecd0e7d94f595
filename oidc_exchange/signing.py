"""SentryAgent's signing keys: creating, rotating, publishing and signing with them."""

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from oidc_exchange.models import SigningKey

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048

# Private key objects by kid, per process, so no request parses a PEM.
_private_keys: dict[str, Key] = {}


class InvalidAccessToken(Exception):
    """An access token that this service did not sign, or that has expired."""


def generate_private_key_pem(algorithm: str) -> str:
    """Generate a private key for RS256 (RSA 2048) or ES256 (EC P-256), in PEM."""
    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


def active_signing_key() -> SigningKey:
    """Return the active signing key, creating the first one on first use."""
    key = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            key = SigningKey.objects.create(
                kid=secrets.token_urlsafe(16),
                algorithm=settings.SENTRYAGENT_SIGNING_ALGORITHM,
                private_key_pem=generate_private_key_pem(
                    settings.SENTRYAGENT_SIGNING_ALGORITHM
                ),
            )
    except IntegrityError:
        # Another process created the active key at the same time.
        return SigningKey.objects.get(state=SigningKey.State.ACTIVE)
    logger.info("signing key created kid=%s", key.kid)
    return key


def rotate_signing_key() -> SigningKey:
    """Retire the active key and make a new one active, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        SigningKey.objects.select_for_update().filter(
            state=SigningKey.State.ACTIVE
        ).update(state=SigningKey.State.RETIRED, retired_at=now)
        key = SigningKey.objects.create(
            kid=secrets.token_urlsafe(16),
            algorithm=settings.SENTRYAGENT_SIGNING_ALGORITHM,
            private_key_pem=generate_private_key_pem(
                settings.SENTRYAGENT_SIGNING_ALGORITHM
            ),
        )
    logger.info("signing key rotated kid=%s", key.kid)
    return key


def load_private_key(key: SigningKey) -> Key:
    """Return the key object for a signing key, parsed once per process."""
    key_object = _private_keys.get(key.kid)
    if key_object is None:
        key_object = jwk.construct(key.private_key_pem, algorithm=key.algorithm)
        _private_keys[key.kid] = key_object
    return key_object


def _published_signing_keys():
    """Return the active key and the retired keys whose tokens may be unexpired.

    A key retired longer ago than the token lifetime signed no token that is
    still valid, so it leaves the JWKS.
    """
    oldest_valid = timezone.now() - timedelta(
        seconds=settings.SENTRYAGENT_TOKEN_LIFETIME
    )
    return SigningKey.objects.exclude(
        state=SigningKey.State.RETIRED, retired_at__lt=oldest_valid
    )


def published_keys() -> list[dict]:
    """Return the public JWKs that verify access tokens, for the JWKS endpoint."""
    keys = list(_published_signing_keys())
    if not keys:
        keys = [active_signing_key()]
    published = []
    for key in keys:
        public = load_private_key(key).public_key().to_dict()
        public.update({"kid": key.kid, "use": "sig", "alg": key.algorithm})
        published.append(public)
    return published


def mint_access_token(
    claims: dict, *, issued_at: datetime
) -> tuple[str, str, datetime]:
    """Sign an access token with the active key; return it, its jti and expiry.

    ``claims`` adds to the registered claims (iss, aud, iat, nbf, exp, jti).
    """
    key = active_signing_key()
    expires_at = issued_at + timedelta(seconds=settings.SENTRYAGENT_TOKEN_LIFETIME)
    jti = str(uuid.uuid4())
    payload = {
        "iss": settings.SENTRYAGENT_ISSUER,
        "aud": settings.SENTRYAGENT_ISSUER,
        "iat": int(issued_at.timestamp()),
        "nbf": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": jti,
        **claims,
    }
    token = jwt.encode(
        payload,
        load_private_key(key),
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    return token, jti, expires_at.replace(microsecond=0)


def verify_access_token(token: str) -> dict:
    """Verify an access token that this service issued and return its claims.

    Raises InvalidAccessToken for a token with another issuer or audience, an
    unknown or unpublished kid, a bad signature, or an expired lifetime.
    """
    try:
        header = jws.get_unverified_header(token)
    except JOSEError as error:
        raise InvalidAccessToken("malformed token") from error
    kid = header.get("kid")
    key = None
    if isinstance(kid, str):
        key = _published_signing_keys().filter(kid=kid).first()
    if key is None or header.get("alg") != key.algorithm:
        raise InvalidAccessToken("unknown signing key")
    try:
        return jwt.decode(
            token,
            load_private_key(key).public_key(),
            algorithms=[key.algorithm],
            audience=settings.SENTRYAGENT_ISSUER,
            issuer=settings.SENTRYAGENT_ISSUER,
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iat": True,
                "verify_sub": True,
                "verify_jti": True,
                "verify_at_hash": False,
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
                "leeway": 0,
            },
        )
    except JOSEError as error:
        raise InvalidAccessToken(str(error)) from error
