"""Failures of the token exchange and registration endpoints.

Each class carries its HTTP status, its RFC 6749 ``error`` and a stable
``reason`` code. The response body is ``{"error", "error_description",
"reason"}``.
"""


class ExchangeError(Exception):
    status_code = 400
    error = "invalid_request"
    reason = "invalid_request"

    def __init__(self, description: str, *, detail_reason: str = "") -> None:
        super().__init__(description)
        self.description = description
        # The exact failed check, recorded for the tenant but never sent.
        self.detail_reason = detail_reason or self.reason
        self.headers: dict[str, str] = {}

    def as_body(self) -> dict[str, str]:
        return {
            "error": self.error,
            "error_description": self.description,
            "reason": self.reason,
        }


# 400: the request is malformed.


class MissingParameter(ExchangeError):
    reason = "missing_parameter"


class InvalidParameter(ExchangeError):
    reason = "invalid_parameter"


class UnsupportedGrantType(ExchangeError):
    error = "unsupported_grant_type"
    reason = "unsupported_grant_type"


class UnsupportedTokenType(ExchangeError):
    reason = "unsupported_token_type"


class MalformedToken(ExchangeError):
    reason = "malformed_token"


class MalformedBody(ExchangeError):
    reason = "malformed_body"


# 401: the GitHub token is not acceptable.


class InvalidGrant(ExchangeError):
    status_code = 401
    error = "invalid_grant"
    reason = "invalid_grant"


class UnsupportedAlgorithm(InvalidGrant):
    reason = "unsupported_algorithm"


class UnsupportedHeader(InvalidGrant):
    reason = "unsupported_header"


class MissingKeyId(InvalidGrant):
    reason = "missing_kid"


class UntrustedIssuer(InvalidGrant):
    reason = "untrusted_issuer"


class UnknownKeyId(InvalidGrant):
    reason = "unknown_kid"


class BadSignature(InvalidGrant):
    reason = "bad_signature"


class InvalidAudience(InvalidGrant):
    reason = "invalid_audience"


class TokenExpired(InvalidGrant):
    reason = "token_expired"


class TokenNotYetValid(InvalidGrant):
    reason = "token_not_yet_valid"


class TokenIssuedInFuture(InvalidGrant):
    reason = "token_issued_in_future"


class TokenLifetimeTooLong(InvalidGrant):
    reason = "token_lifetime_too_long"


class MissingClaim(InvalidGrant):
    reason = "missing_claim"


class InvalidClaim(InvalidGrant):
    reason = "invalid_claim"


class TokenReplayed(InvalidGrant):
    reason = "token_replayed"


# 403: a genuine token that no trust policy allows.


class AccessDenied(ExchangeError):
    status_code = 403
    error = "access_denied"
    reason = "no_matching_policy"


# 409: registration conflicts.


class Conflict(ExchangeError):
    status_code = 409
    error = "invalid_request"
    reason = "conflict"


class AgentNameTaken(Conflict):
    reason = "agent_name_taken"


class AmbiguousTenant(Conflict):
    reason = "ambiguous_tenant"


# 413, 429 and 503.


class SlowDown(ExchangeError):
    status_code = 429
    error = "slow_down"
    reason = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests from this address. Retry in {retry_after} seconds."
        )
        self.headers = {"Retry-After": str(retry_after)}


class PayloadTooLarge(ExchangeError):
    status_code = 413
    reason = "payload_too_large"


class KeysUnavailable(ExchangeError):
    status_code = 503
    error = "temporarily_unavailable"
    reason = "issuer_keys_unavailable"


class ServiceUnavailable(ExchangeError):
    status_code = 503
    error = "temporarily_unavailable"
    reason = "database_unavailable"
