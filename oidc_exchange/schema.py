"""OpenAPI descriptions of the token exchange, registration and discovery endpoints.

The views read their bodies by hand rather than through serializers, so the
serializers here only describe the bodies to drf-spectacular. The error
responses list their reason codes from the classes in ``errors``, so the
document follows the code.
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers

from agents.serializers import AgentSerializer
from agents.validation import AGENT_NAME_PATTERN
from oidc_exchange import errors
from oidc_exchange.exchange import (
    GRANT_TYPE_TOKEN_EXCHANGE,
    SUBJECT_TOKEN_TYPES,
    TOKEN_TYPE_ACCESS_TOKEN,
)

EXAMPLE_AGENT_ID = "0b6f1c3e-2f4d-4c55-9d1a-7c1e5f0a9b42"


# drf-spectacular appends 'Request' to the component names of request bodies.
@extend_schema_serializer(component_name="TokenExchange")
class TokenExchangeRequest(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=[GRANT_TYPE_TOKEN_EXCHANGE])
    subject_token = serializers.CharField(
        help_text="The GitHub Actions OIDC token, a compact JWS, as GitHub issued it."
    )
    subject_token_type = serializers.ChoiceField(choices=list(SUBJECT_TOKEN_TYPES))
    agent_id = serializers.UUIDField(help_text="The agent to get a token for.")


class TokenExchangeResponse(serializers.Serializer):
    access_token = serializers.CharField(
        help_text="A JWT signed with a key published at /.well-known/jwks.json."
    )
    issued_token_type = serializers.ChoiceField(choices=[TOKEN_TYPE_ACCESS_TOKEN])
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Lifetime in seconds.")
    expires_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="Registration")
class RegistrationRequest(serializers.Serializer):
    subject_token = serializers.CharField(
        help_text="The GitHub Actions OIDC token, a compact JWS, as GitHub issued it."
    )
    name = serializers.RegexField(
        f"^{AGENT_NAME_PATTERN.pattern}$",
        help_text="The agent's name, unique in the tenant, such as 'release-bot'.",
    )
    # Registration reads an empty or null description and tenant as not sent.
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000
    )
    tenant = serializers.SlugField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=63,
        help_text=(
            "Tenant slug; needed only when the repository may register agents "
            "in several tenants."
        ),
    )


class RegisteredAgent(AgentSerializer):
    """An agent that a workflow registered, or had registered before."""

    created = serializers.BooleanField(
        help_text="false when this repository had registered the agent before."
    )

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "created"]


class OAuthError(serializers.Serializer):
    error = serializers.CharField(help_text="The RFC 6749 error code.")
    error_description = serializers.CharField(
        help_text="What failed and what to do next, for the person reading the log."
    )
    reason = serializers.CharField(help_text="A stable code for programs and tests.")


class AudienceResponse(serializers.Serializer):
    audience = serializers.CharField(
        help_text="The audience that GitHub OIDC tokens sent here must carry."
    )


class PublicJwk(serializers.Serializer):
    kty = serializers.CharField()
    kid = serializers.CharField()
    use = serializers.CharField()
    alg = serializers.CharField()
    n = serializers.CharField()
    e = serializers.CharField()


class JwksResponse(serializers.Serializer):
    keys = PublicJwk(many=True)


class AuthorizationServerMetadata(serializers.Serializer):
    issuer = serializers.URLField()
    token_endpoint = serializers.URLField()
    jwks_uri = serializers.URLField()
    introspection_endpoint = serializers.URLField(required=False)
    revocation_endpoint = serializers.URLField(required=False)
    grant_types_supported = serializers.ListField(child=serializers.CharField())
    response_types_supported = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_methods_supported = serializers.ListField(
        child=serializers.CharField()
    )
    introspection_endpoint_auth_methods_supported = serializers.ListField(
        child=serializers.CharField(), required=False
    )
    revocation_endpoint_auth_methods_supported = serializers.ListField(
        child=serializers.CharField(), required=False
    )
    subject_token_types_supported = serializers.ListField(
        child=serializers.CharField(), required=False
    )


@extend_schema_serializer(component_name="Token")
class TokenRequest(serializers.Serializer):
    token = serializers.CharField(help_text="A SentryAgent access token.")


class IntrospectionResponse(serializers.Serializer):
    active = serializers.BooleanField()
    token_type = serializers.CharField(required=False)
    iss = serializers.CharField(required=False)
    sub = serializers.CharField(required=False, help_text="The agent id.")
    aud = serializers.CharField(required=False)
    iat = serializers.IntegerField(required=False)
    nbf = serializers.IntegerField(required=False)
    exp = serializers.IntegerField(required=False)
    jti = serializers.CharField(required=False)
    tenant = serializers.CharField(required=False)
    act = serializers.DictField(required=False)


def _error_classes() -> list[type[errors.ExchangeError]]:
    found, pending = [], [errors.ExchangeError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _error_response(status: int, when: str, example: errors.ExchangeError):
    classes = [cls for cls in _error_classes() if cls.status_code == status]
    error_codes = sorted({cls.error for cls in classes})
    reasons = sorted({cls.reason for cls in classes})
    return OpenApiResponse(
        OAuthError,
        description=(
            f"{when} `error`: {', '.join(error_codes)}. `reason`: {', '.join(reasons)}."
        ),
        examples=[
            OpenApiExample(
                f"{example.reason}", value=example.as_body(), status_codes=[status]
            )
        ],
    )


ERRORS = {
    400: _error_response(
        400,
        "Missing or malformed parameters, or a token that is not a three-part JWS.",
        errors.MissingParameter("The subject_token parameter is missing."),
    ),
    401: _error_response(
        401,
        "The GitHub token failed verification: signature, algorithm, issuer, "
        "audience, time, a missing claim, or a token already exchanged.",
        errors.TokenExpired(
            "The token expired at 2026-12-03T21:40:00Z. GitHub's tokens are valid "
            "for minutes: request a new one right before the exchange."
        ),
    ),
    403: _error_response(
        403,
        "A genuine token that no enabled trust policy allows. The description "
        "names the repository, ref and event and says how to add a policy.",
        errors.AccessDenied(
            "No enabled trust policy allows repository 'octo-org/app' (ref "
            "'refs/heads/main', event 'push') to act as this agent. A tenant admin "
            "can allow it in the admin under Trust policies, or with POST "
            "/oidc/trust-policies."
        ),
    ),
    409: _error_response(
        409,
        "The name is taken by an agent this repository did not register, or the "
        "repository may register in several tenants and none was chosen.",
        errors.AgentNameTaken(
            "An agent named 'release-bot' already exists in this tenant and was "
            "not registered by this repository. Choose another agent-name."
        ),
    ),
    413: _error_response(
        413,
        "The token or the body is over the size limit.",
        errors.PayloadTooLarge(
            "The request body is larger than 16384 bytes. Send only the "
            "documented parameters."
        ),
    ),
    429: _error_response(
        429,
        "Too many requests from this client address; see the Retry-After header.",
        errors.SlowDown(30),
    ),
    503: _error_response(
        503,
        "GitHub's keys cannot be had and none are cached, or the database is "
        "unreachable. Retry in a few seconds.",
        errors.KeysUnavailable(
            "The public keys of issuer 'https://token.actions.githubusercontent.com'"
            " cannot be fetched right now and none are cached. Retry in a few "
            "seconds."
        ),
    ),
}


def _errors(*statuses: int) -> dict:
    return {status: ERRORS[status] for status in statuses}


# The header that every 429 of the rate-limited endpoints carries.
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    type=int,
    location=OpenApiParameter.HEADER,
    required=True,
    description="Seconds to wait before the next request.",
    response=[429],
)


token_exchange = extend_schema_view(
    post=extend_schema(
        operation_id="token_exchange",
        tags=["token exchange"],
        summary="Exchange a GitHub OIDC token for an agent access token",
        description=(
            "RFC 8693 token exchange. Send the parameters form-encoded or as JSON. "
            "One GitHub token yields at most one access token."
        ),
        request=TokenExchangeRequest,
        parameters=[RETRY_AFTER],
        responses={
            200: OpenApiResponse(
                TokenExchangeResponse,
                description="The access token.",
                examples=[
                    OpenApiExample(
                        "access token",
                        value={
                            "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
                            "issued_token_type": TOKEN_TYPE_ACCESS_TOKEN,
                            "token_type": "Bearer",
                            "expires_in": 900,
                            "expires_at": "2026-12-03T21:50:00Z",
                        },
                        status_codes=[200],
                    )
                ],
            ),
            **_errors(400, 401, 403, 413, 429, 503),
        },
        examples=[
            OpenApiExample(
                "token exchange",
                value={
                    "grant_type": GRANT_TYPE_TOKEN_EXCHANGE,
                    "subject_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
                    "subject_token_type": SUBJECT_TOKEN_TYPES[0],
                    "agent_id": EXAMPLE_AGENT_ID,
                },
                request_only=True,
            )
        ],
    )
)

registration = extend_schema_view(
    post=extend_schema(
        operation_id="register_agent",
        tags=["token exchange"],
        summary="Register an agent from a GitHub Actions workflow",
        description=(
            "Creates the agent and a trust policy binding it to the token's "
            "repository, if an enabled registration policy matches the token. "
            "Re-running with the same name from the same repository returns the "
            "existing agent."
        ),
        request=RegistrationRequest,
        parameters=[RETRY_AFTER],
        responses={
            201: OpenApiResponse(RegisteredAgent, description="The agent was created."),
            200: OpenApiResponse(
                RegisteredAgent,
                description="This repository had registered the agent before.",
            ),
            **_errors(400, 401, 403, 409, 413, 429, 503),
        },
    )
)

audience = extend_schema_view(
    get=extend_schema(
        operation_id="audience",
        tags=["discovery"],
        summary="The audience GitHub tokens must carry",
        responses={200: AudienceResponse},
    )
)

jwks = extend_schema_view(
    get=extend_schema(
        operation_id="jwks",
        tags=["discovery"],
        summary="Public keys that verify SentryAgent access tokens",
        responses={200: JwksResponse},
    )
)

metadata = extend_schema_view(
    get=extend_schema(
        operation_id="authorization_server_metadata",
        tags=["discovery"],
        summary="RFC 8414 authorization server metadata",
        responses={200: AuthorizationServerMetadata},
    )
)

introspection = extend_schema_view(
    post=extend_schema(
        operation_id="introspect_token",
        tags=["token exchange"],
        summary="RFC 7662 introspection of an access token of the caller's agents",
        request=TokenRequest,
        responses={200: IntrospectionResponse, **_errors(400, 413, 503)},
    )
)

revocation = extend_schema_view(
    post=extend_schema(
        operation_id="revoke_token",
        tags=["token exchange"],
        summary="RFC 7009 revocation of an access token of the caller's agents",
        description="The response is 200 for any token, so it reveals nothing.",
        request=TokenRequest,
        responses={
            200: OpenApiResponse(description="Revoked, or not a token of the tenant."),
            **_errors(400, 413, 503),
        },
    )
)
