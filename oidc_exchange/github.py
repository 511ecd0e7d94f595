"""Verification of GitHub Actions OIDC tokens.

The steps run in this order, one function each: parse the token and check its
size and shape, check the header, check the issuer, find the key, verify the
signature, check the claims. Data is ``unverified`` until the signature check
has passed; only ``VerifiedClaims`` may drive a decision.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from jose import jws
from jose.exceptions import JOSEError

from oidc_exchange import errors
from oidc_exchange.jwks import get_verification_key
from policies.matching import WorkflowIdentity

ALGORITHM = "RS256"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

# Claims every accepted token must carry, as non-empty strings. Decisions
# never parse ``sub``, whose format GitHub and its customers change.
REQUIRED_STRING_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "jti",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "ref",
    "event_name",
)
# Claims every accepted token must carry, as integer seconds since the epoch.
REQUIRED_TIME_CLAIMS = ("exp", "iat")
# Claims checked when present: ``nbf`` (GitHub backdates it by minutes).
OPTIONAL_TIME_CLAIMS = ("nbf",)
# Claims recorded in the exchange log and access tokens but not checked.
RECORDED_CLAIMS = ("sha", "run_id", "run_attempt", "workflow_ref", "actor")


@dataclass(frozen=True)
class UnverifiedToken:
    """A token whose shape is valid but whose signature is not yet checked."""

    compact: str
    header: dict[str, Any]
    unverified_claims: dict[str, Any]


@dataclass(frozen=True)
class VerifiedClaims:
    """Claims of a token whose signature, issuer, audience and times passed."""

    claims: dict[str, Any]

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.claims["exp"], tz=UTC)

    def identity(self) -> WorkflowIdentity:
        return WorkflowIdentity(
            issuer=self.claims["iss"],
            repository=self.claims["repository"],
            repository_id=self.claims["repository_id"],
            repository_owner=self.claims["repository_owner"],
            repository_owner_id=self.claims["repository_owner_id"],
            ref=self.claims["ref"],
            event_name=self.claims["event_name"],
        )


def parse_token(compact: str) -> UnverifiedToken:
    """Check the token's size and shape and decode its header and payload.

    Only a compact JWS of three base64url parts is accepted. A JWE (five
    parts) is rejected before anything of it is decoded.
    """
    if len(compact.encode()) > settings.GITHUB_OIDC_MAX_TOKEN_BYTES:
        raise errors.PayloadTooLarge(
            f"subject_token is larger than {settings.GITHUB_OIDC_MAX_TOKEN_BYTES} "
            "bytes. Send the OIDC token exactly as GitHub issued it."
        )
    parts = compact.split(".")
    if len(parts) == 5:
        raise errors.MalformedToken(
            "subject_token is a JWE (five parts). Send the signed OIDC token "
            "(a JWS of three parts) that GitHub issues."
        )
    # The signature may be empty here, so that an unsigned token ('alg' none)
    # is rejected for its algorithm.
    well_formed = (
        len(parts) == 3
        and _BASE64URL.fullmatch(parts[0])
        and _BASE64URL.fullmatch(parts[1])
        and _BASE64URL.fullmatch(parts[2] or "A")
    )
    if not well_formed:
        raise errors.MalformedToken(
            "subject_token is not a compact JWS: expected three base64url parts "
            "separated by dots. Send the OIDC token exactly as GitHub issued it."
        )
    header = _decode_json_part(parts[0], "header")
    unverified_claims = _decode_json_part(parts[1], "payload")
    return UnverifiedToken(compact, header, unverified_claims)


def _decode_json_part(part: str, name: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise errors.MalformedToken(
            f"subject_token's {name} is not a base64url-encoded JSON object. "
            "Send the OIDC token exactly as GitHub issued it."
        )
    return value


def check_header(token: UnverifiedToken) -> str:
    """Check the header and return its kid.

    URLs and keys in the header (``jku``, ``x5u``, ``jwk``, ``x5c``) are ignored.
    """
    algorithm = token.header.get("alg")
    if algorithm != ALGORITHM:
        raise errors.UnsupportedAlgorithm(
            f"Unsupported token algorithm {algorithm!r}. GitHub signs OIDC tokens "
            f"with {ALGORITHM}, the only algorithm accepted."
        )
    if "crit" in token.header:
        raise errors.UnsupportedHeader(
            "The token header has a 'crit' parameter, which is not supported."
        )
    kid = token.header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 128:
        raise errors.MissingKeyId(
            "The token header has no valid 'kid'. GitHub's tokens always name "
            "their signing key; send the token exactly as GitHub issued it."
        )
    return kid


def check_issuer(token: UnverifiedToken) -> str:
    """Return the token's issuer if it is configured; compared exactly."""
    issuer = token.unverified_claims.get("iss")
    if not isinstance(issuer, str) or issuer not in settings.GITHUB_OIDC_ISSUERS:
        trusted = ", ".join(settings.GITHUB_OIDC_ISSUERS)
        raise errors.UntrustedIssuer(
            f"Untrusted token issuer {_shorten(issuer)!r}. This service accepts "
            f"tokens from: {trusted}."
        )
    return issuer


def verify_signature(token: UnverifiedToken, issuer: str, kid: str) -> dict:
    """Verify the RS256 signature with the issuer's key; return the claims."""
    key = get_verification_key(issuer, kid)
    try:
        payload = jws.verify(token.compact, key, algorithms=[ALGORITHM])
    except JOSEError as error:
        raise errors.BadSignature(
            "The token's signature is invalid. Request a new token from GitHub "
            "and send it unchanged."
        ) from error
    return json.loads(payload)


def check_claims(claims: dict[str, Any]) -> VerifiedClaims:
    """Check audience, times and required claims of signed claims."""
    audience = settings.GITHUB_OIDC_AUDIENCE
    if claims.get("aud") != audience:
        if isinstance(claims.get("aud"), list):
            found = "several audiences"
        else:
            found = f"audience {_shorten(claims.get('aud'))!r}"
        raise errors.InvalidAudience(
            f"The token has {found}; expected exactly {audience!r}. Request the "
            "token with that audience (the issue-token action reads it from "
            "GET /oidc/audience)."
        )

    for name in REQUIRED_TIME_CLAIMS:
        if not _is_timestamp(claims.get(name)):
            raise errors.MissingClaim(
                f"The token has no valid {name!r} claim (seconds since the epoch)."
            )
    for name in OPTIONAL_TIME_CLAIMS:
        if name in claims and not _is_timestamp(claims[name]):
            raise errors.InvalidClaim(
                f"The token's {name!r} claim is not a number of seconds since the "
                "epoch."
            )
    _check_times(claims)

    for name in REQUIRED_STRING_CLAIMS:
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise errors.MissingClaim(
                f"The token has no {name!r} claim, which this service requires. "
                "Request a new token from GitHub Actions."
            )
    return VerifiedClaims(claims)


def _check_times(claims: dict[str, Any]) -> None:
    now = timezone.now().timestamp()
    leeway = settings.GITHUB_OIDC_LEEWAY
    expires, issued = claims["exp"], claims["iat"]
    if now > expires + leeway:
        raise errors.TokenExpired(
            f"The token expired at {_iso(expires)}. GitHub's tokens are valid for "
            "minutes: request a new one right before the exchange."
        )
    if "nbf" in claims and now + leeway < claims["nbf"]:
        raise errors.TokenNotYetValid(
            f"The token is not valid before {_iso(claims['nbf'])}. Check the "
            "clock of the machine that issued it."
        )
    if issued > now + leeway:
        raise errors.TokenIssuedInFuture(
            f"The token claims to be issued at {_iso(issued)}, in the future. "
            "Check the clock of the machine that issued it."
        )
    if expires - issued > settings.GITHUB_OIDC_MAX_LIFETIME or expires <= issued:
        raise errors.TokenLifetimeTooLong(
            f"The token is valid from {_iso(issued)} to {_iso(expires)}, which "
            "GitHub never issues. Only genuine GitHub Actions tokens are accepted."
        )


def _is_timestamp(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _iso(timestamp: int) -> str:
    try:
        moment = datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
    return moment.isoformat().replace("+00:00", "Z")


def _shorten(value: object, limit: int = 100) -> object:
    """Cut a caller-supplied value short before it is echoed in a message."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value
