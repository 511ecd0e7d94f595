"""HTTP endpoints of the token exchange and of SentryAgent's public keys."""

import ipaddress
import logging
import math
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, DataError
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from agents.serializers import AgentSerializer
from oidc_exchange import errors, schema
from oidc_exchange.exchange import (
    GRANT_TYPE_TOKEN_EXCHANGE,
    SUBJECT_TOKEN_TYPES,
    exchange_token,
)
from oidc_exchange.introspection import introspect, revoke
from oidc_exchange.models import ExchangeRecord
from oidc_exchange.records import Attempt
from oidc_exchange.registration import register_agent
from oidc_exchange.signing import published_keys

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("sentryagent.security")

# RFC 6749 section 5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def client_address(request: Request) -> str | None:
    """Return the client's IP address: REMOTE_ADDR, or X-Forwarded-For's entry
    for the trusted proxies when ``NUM_PROXIES`` is set."""
    ident = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return request.META.get("REMOTE_ADDR") or None


def rate_limit_key(address: str | None) -> str:
    """Return what the rate limit counts by: the address, or its /64 for IPv6.

    One IPv6 client usually has a whole /64, so counting single addresses
    would give it billions of budgets.
    """
    if address is None:
        return "unknown"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


class ClientAddressThrottle(SimpleRateThrottle):
    """Limits requests per client address, counted in Django's cache.

    The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["oidc"]``. The
    address is REMOTE_ADDR unless ``NUM_PROXIES`` trusts X-Forwarded-For.
    """

    scope = "oidc"

    def get_rate(self) -> str:
        # Read at call time, so a changed setting applies without a restart.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        ident = rate_limit_key(client_address(request))
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class RateLimitedView(PublicView):
    """A public endpoint whose handler checks the rate limit itself.

    DRF checks throttles before the handler runs; checking inside it lets the
    429 have the RFC 6749 error body.
    """

    throttle_classes = [ClientAddressThrottle]

    def check_throttles(self, request) -> None:
        pass

    def check_rate_limit(self, request) -> None:
        super().check_throttles(request)

    def throttled(self, request, wait) -> None:
        retry_after = max(1, math.ceil(wait or 1))
        security_logger.warning(
            "rate limit exceeded path=%s client=%s retry_after=%s",
            request.path,
            request.META.get("REMOTE_ADDR"),
            retry_after,
        )
        raise errors.SlowDown(retry_after)


def read_body(request: Request) -> dict:
    """Return the parsed body, rejecting bodies over the size limit unread."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.SENTRYAGENT_MAX_BODY_BYTES
    if not (length.isascii() and length.isdigit()) or int(length) > limit:
        raise errors.PayloadTooLarge(
            f"The request body is larger than {limit} bytes. Send only the "
            "documented parameters."
        )
    try:
        data = request.data
    except ParseError:
        raise errors.MalformedBody(
            "The request body cannot be parsed. Send form-encoded or JSON "
            "parameters that match the Content-Type header."
        ) from None
    except UnsupportedMediaType:
        raise errors.MalformedBody(
            "Unsupported Content-Type. Send application/x-www-form-urlencoded or "
            "application/json."
        ) from None
    if not hasattr(data, "get"):
        raise errors.MalformedBody("The request body must be a JSON object.")
    return data


AttemptHandler = Callable[[dict, Attempt], tuple[int, dict]]


def error_response(error: errors.ExchangeError) -> Response:
    headers = {**NO_STORE, **error.headers}
    return Response(error.as_body(), status=error.status_code, headers=headers)


def database_unavailable() -> Response:
    logger.exception("request failed on the database")
    return error_response(
        errors.ServiceUnavailable(
            "The service cannot reach its database. Retry in a few seconds."
        )
    )


class AttemptView(RateLimitedView):
    """A public endpoint that takes a GitHub token, with an exchange record
    for every attempt."""

    endpoint: str

    def run_attempt(self, request: Request, handler: AttemptHandler) -> Response:
        """Check the rate limit, run ``handler`` and record the attempt.

        ``handler`` takes the parsed body and the attempt, and returns the
        status and body of a success or raises an ExchangeError.
        """
        try:
            self.check_rate_limit(request)
        except errors.SlowDown as error:
            # NOTE: rate-limited requests get no exchange record, so a flood
            # cannot fill the database; the security log counts them.
            return error_response(error)
        attempt = Attempt(self.endpoint, request, client_address(request))
        try:
            status, body = handler(read_body(request), attempt)
        except errors.ExchangeError as error:
            attempt.reject(error)
            return error_response(error)
        except DataError:
            # A value that the database cannot store or compare, such as a NUL
            # character on PostgreSQL, is the request's fault, not an outage.
            error = errors.InvalidParameter(
                "A parameter contains a character that cannot be stored, such as "
                "NUL (\\x00). Send the value without it.",
                detail_reason="unstorable_value",
            )
            attempt.reject(error)
            return error_response(error)
        except DatabaseError:
            return database_unavailable()
        attempt.accept(status)
        return Response(body, status=status, headers=NO_STORE)


@schema.token_exchange
class TokenExchangeView(AttemptView):
    """RFC 8693 token exchange: a GitHub OIDC token for an agent access token."""

    endpoint = ExchangeRecord.Endpoint.TOKEN
    parser_classes = [FormParser, JSONParser]

    def post(self, request: Request) -> Response:
        return self.run_attempt(request, self.exchange)

    @staticmethod
    def exchange(params: dict, attempt: Attempt) -> tuple[int, dict]:
        return 200, exchange_token(params, attempt)


@schema.registration
class RegistrationView(AttemptView):
    """Registration of an agent by a workflow, with its GitHub OIDC token."""

    endpoint = ExchangeRecord.Endpoint.REGISTRATION
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        return self.run_attempt(request, self.register)

    @staticmethod
    def register(params: dict, attempt: Attempt) -> tuple[int, dict]:
        registration = register_agent(params, attempt)
        body = {
            **AgentSerializer(registration.agent).data,
            "created": registration.created,
        }
        return (201 if registration.created else 200), body


@schema.audience
class AudienceView(PublicView):
    """The audience that GitHub tokens sent to this service must carry."""

    def get(self, request: Request) -> Response:
        return Response({"audience": settings.GITHUB_OIDC_AUDIENCE})


@schema.jwks
class JwksView(PublicView):
    """Public keys that verify SentryAgent access tokens."""

    def get(self, request: Request) -> Response:
        return Response(
            {"keys": published_keys()}, headers={"Cache-Control": "max-age=60"}
        )


@schema.metadata
class MetadataView(PublicView):
    """RFC 8414 authorization server metadata."""

    def get(self, request: Request) -> Response:
        issuer = settings.SENTRYAGENT_ISSUER
        return Response(
            {
                "issuer": issuer,
                "token_endpoint": f"{issuer}/oidc/token",
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "introspection_endpoint": f"{issuer}/oidc/introspect",
                "revocation_endpoint": f"{issuer}/oidc/revoke",
                "grant_types_supported": [GRANT_TYPE_TOKEN_EXCHANGE],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": ["none"],
                # Tenants authenticate with 'Authorization: Token <API token>'.
                "introspection_endpoint_auth_methods_supported": ["tenant_api_token"],
                "revocation_endpoint_auth_methods_supported": ["tenant_api_token"],
                "subject_token_types_supported": list(SUBJECT_TOKEN_TYPES),
            }
        )


class TenantTokenView(APIView):
    """An endpoint for tenants that takes an access token in a form or JSON body.

    Authenticated with the tenant's API token, as the rest of the tenant API.
    """

    parser_classes = [FormParser, JSONParser]

    def read_token(self, request: Request) -> str | None:
        data = read_body(request)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise errors.MissingParameter("The token parameter is missing.")
        if len(token) > settings.GITHUB_OIDC_MAX_TOKEN_BYTES:
            return None
        return token

    def handle_token(self, request: Request, token: str | None) -> Response:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        try:
            token = self.read_token(request)
        except errors.ExchangeError as error:
            return error_response(error)
        try:
            return self.handle_token(request, token)
        except DatabaseError:
            return database_unavailable()


@schema.introspection
class IntrospectionView(TenantTokenView):
    """RFC 7662 introspection of access tokens of the caller's agents."""

    def handle_token(self, request: Request, token: str | None) -> Response:
        body = introspect(token, request.tenant) if token else {"active": False}
        return Response(body, headers=NO_STORE)


@schema.revocation
class RevocationView(TenantTokenView):
    """RFC 7009 revocation of access tokens of the caller's agents.

    The response is 200 for any token, as RFC 7009 requires, so it does not
    reveal whether a token exists.
    """

    def handle_token(self, request: Request, token: str | None) -> Response:
        if token:
            revoke(token, request.tenant)
        return Response(status=200, headers=NO_STORE)
