"""drf-spectacular hooks for the OpenAPI document at /api/schema.

``add_tenant_error_responses`` declares the error responses that DRF sends for
the tenant API, so that no view has to list them: validation errors, failed
authentication, missing permissions and unknown ids.
"""

# Query parameters of LimitOffsetPagination. DRF ignores invalid values of
# them, so they never cause a 400.
PAGINATION_PARAMETERS = {"limit", "offset"}

MESSAGES = {"type": "array", "items": {"type": "string"}}

ERROR_SCHEMAS = {
    "APIError": {
        "type": "object",
        "description": "An error about the request as a whole.",
        "properties": {
            "detail": {"type": "string", "description": "What failed."},
            "code": {
                "type": "string",
                "description": (
                    "DRF's stable error code, such as 'not_authenticated', "
                    "'permission_denied', 'not_found' or 'parse_error'."
                ),
            },
        },
        "required": ["detail", "code"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            "Messages by body field or query parameter name. 'non_field_errors' "
            "contains the messages about the body as a whole. The messages of a "
            "list field are keyed by the index of the invalid item."
        ),
        "additionalProperties": {
            "oneOf": [MESSAGES, {"type": "object", "additionalProperties": MESSAGES}]
        },
        "minProperties": 1,
    },
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, example: dict) -> dict:
    return {"application/json": {"schema": schema, "example": example}}


# The names under components/responses of the error responses, by status.
RESPONSE_NAMES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "415": "UnsupportedMediaType",
}

ERROR_RESPONSES = {
    "BadRequest": {
        "description": (
            "A body field or query parameter is invalid (a validation error), or "
            "the body cannot be parsed (an APIError with code 'parse_error')."
        ),
        "content": _json(
            {"oneOf": [_ref("ValidationError"), _ref("APIError")]},
            {"name": ["This field may not be blank."]},
        ),
    },
    "Unauthorized": {
        "description": (
            "No credentials, or an unknown or expired API token. Send "
            "'Authorization: Token <API token>'; 'manage.py create_api_token' "
            "creates one."
        ),
        "headers": {
            "WWW-Authenticate": {
                "schema": {"type": "string"},
                "required": True,
                "description": "The scheme to authenticate with: 'Token'.",
            }
        },
        "content": _json(
            _ref("APIError"),
            {
                "detail": "Authentication credentials were not provided.",
                "code": "not_authenticated",
            },
        ),
    },
    "Forbidden": {
        "description": (
            "The user belongs to no tenant, or a session request was sent "
            "without its CSRF token."
        ),
        "content": _json(
            _ref("APIError"),
            {
                "detail": "This user belongs to no tenant.",
                "code": "permission_denied",
            },
        ),
    },
    "NotFound": {
        "description": (
            "No object with this id in the caller's tenant. Objects of other "
            "tenants are not found either."
        ),
        "content": _json(
            _ref("APIError"), {"detail": "Not found.", "code": "not_found"}
        ),
    },
    "UnsupportedMediaType": {
        "description": (
            "The Content-Type is not one of those the request body is documented with."
        ),
        "content": _json(
            _ref("APIError"),
            {
                "detail": 'Unsupported media type "text/plain" in request.',
                "code": "unsupported_media_type",
            },
        ),
    },
}


def _error_statuses(path: str, operation: dict) -> list[str]:
    """Return the error statuses that DRF may respond to the operation with."""
    statuses = ["401", "403"]
    filters = [
        parameter
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter["name"] not in PAGINATION_PARAMETERS
    ]
    # Operations that declare their own 400 read their bodies themselves,
    # without DRF's parsers, validation errors and 415.
    if "400" not in operation["responses"]:
        if "requestBody" in operation or filters:
            statuses.append("400")
        if "requestBody" in operation:
            statuses.append("415")
    if "{" in path:
        statuses.append("404")
    return statuses


def add_tenant_error_responses(result, generator, request, public):
    """Declare DRF's error responses on every operation of the tenant API.

    The tenant API is every operation that requires credentials. The public
    endpoints list only the empty security requirement.
    """
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(ERROR_SCHEMAS)
    components.setdefault("responses", {}).update(ERROR_RESPONSES)
    for path, path_item in result.get("paths", {}).items():
        for operation in path_item.values():
            if not any(operation.get("security", [])):
                continue
            responses = operation["responses"]
            for status in _error_statuses(path, operation):
                reference = f"#/components/responses/{RESPONSE_NAMES[status]}"
                responses.setdefault(status, {"$ref": reference})
            operation["responses"] = dict(sorted(responses.items()))
    return result
