"""Requests to the SentryAgent service, and the failures its responses map to.

Error bodies follow RFC 6749 section 5.2 with a stable reason code:
``{"error": ..., "error_description": ..., "reason": ...}``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sentryagent_action import VERSION, messages, transport
from sentryagent_action.inputs import Settings
from sentryagent_action.messages import ActionFailed, Failure, FailureTemplate
from sentryagent_action.oidc import IdTokenSource

AUDIENCE_PATH = "/oidc/audience"

# A function that builds a request body around a GitHub token and returns
# (body, Content-Type).
BodyEncoder = Callable[[str], tuple[bytes, str]]


@dataclass(frozen=True)
class ErrorBody:
    """The fields of an error response, with placeholders for missing ones."""

    error: str
    description: str
    reason: str


def read_error_body(response: transport.Response) -> ErrorBody:
    """Return the error fields, or the body's text as the description.

    Nothing is cut here: the messages neutralise and cut the text after
    removing secrets from it.
    """
    body = response.json()
    fields = body if isinstance(body, dict) else {}
    error = fields.get("error")
    description = fields.get("error_description")
    reason = fields.get("reason")
    if not isinstance(description, str) or not description:
        description = response.text().strip() or "(empty body)"
    return ErrorBody(
        error=error if isinstance(error, str) and error else "none",
        description=description,
        reason=reason if isinstance(reason, str) and reason else "none",
    )


class Client:
    """The SentryAgent service at ``api_url``, for one action run."""

    def __init__(
        self,
        api_url: str,
        settings: Settings,
        deadline: transport.Deadline,
        action: str,
    ) -> None:
        self.api_url = api_url
        self.policy = transport.RetryPolicy(
            settings.request_timeout, settings.max_attempts
        )
        self.deadline = deadline
        self.user_agent = f"sentryagent-action/{VERSION} ({action})"

    def fetch_audience(self) -> str:
        """Return the audience the service expects GitHub tokens to carry."""
        url = self.api_url + AUDIENCE_PATH

        def build_request() -> urllib.request.Request:
            return urllib.request.Request(
                url,
                headers={"Accept": "application/json", "User-Agent": self.user_agent},
            )

        outcome = self._send(build_request)
        response = outcome.response
        if response.status == 200:
            body = response.json()
            audience = body.get("audience") if isinstance(body, dict) else None
            if isinstance(audience, str) and audience:
                return audience
            raise ActionFailed(
                messages.AUDIENCE_UNAVAILABLE.render(
                    url=url, problem="HTTP 200 without an audience"
                )
            )
        if 300 <= response.status < 400 or response.status in transport.RETRY_STATUSES:
            raise ActionFailed(failure_for_response(outcome, self.api_url))
        raise ActionFailed(
            messages.AUDIENCE_UNAVAILABLE.render(
                url=url, problem=f"HTTP {response.status}"
            )
        )

    def post(
        self, path: str, encode: BodyEncoder, id_tokens: IdTokenSource
    ) -> transport.Outcome:
        """POST a body built around a fresh GitHub token for every attempt."""
        url = self.api_url + path

        def build_request() -> urllib.request.Request:
            data, content_type = encode(id_tokens.fetch())
            return urllib.request.Request(
                url,
                data=data,
                method="POST",
                headers={
                    "Accept": "application/json",
                    "Content-Type": content_type,
                    "User-Agent": self.user_agent,
                },
            )

        return self._send(build_request)

    def _send(
        self, build_request: Callable[[], urllib.request.Request]
    ) -> transport.Outcome:
        try:
            return transport.send_with_retries(
                build_request, self.policy, self.deadline
            )
        except transport.TransportError as error:
            raise ActionFailed(error.failure()) from None


def denial_fields(
    claims: Mapping[str, object], agent_id: str | None = None
) -> dict[str, str]:
    """Return the fields of a 403 message: what the token presented, what to add.

    The suggested trust policy names the token's repository, and its branch
    when the ref is a branch.
    """
    repository = str(claims.get("repository") or "unknown")
    ref = str(claims.get("ref") or "unknown")
    event_name = str(claims.get("event_name") or "unknown")
    policy: dict[str, str | list[str]] = {
        "provider": "github",
        "repository": repository,
    }
    branch_clause = ""
    if ref.startswith("refs/heads/"):
        policy["branch"] = ref[len("refs/heads/") :]
        branch_clause = f", branch {policy['branch']}"
    if agent_id is not None:
        policy["agentId"] = agent_id
    event_note = ""
    if event_name in messages.EVENTS_NEEDING_OPT_IN:
        policy["allowedEvents"] = [event_name]
        event_note = messages.EVENT_NOTE.format(event_name=event_name)
    return {
        "repository": repository,
        "ref": ref,
        "event_name": event_name,
        "branch_clause": branch_clause,
        "policy_json": json.dumps(policy),
        "event_note": event_note,
    }


def failure_for_response(
    outcome: transport.Outcome,
    api_url: str,
    forbidden: FailureTemplate | None = None,
    conflicts: Mapping[str, FailureTemplate] | None = None,
    **fields: object,
) -> Failure:
    """Return the failure to report for a response that is not a success.

    ``forbidden`` and ``conflicts`` (by reason code) are the action's own
    messages for 403 and 409. ``fields`` fill their placeholders.
    """
    response = outcome.response
    status = response.status
    error = read_error_body(response)
    path = response.url[len(api_url) :] if response.url.startswith(api_url) else ""
    common = {
        "api_url": api_url,
        "method": response.method,
        "url": response.url,
        "path": path or response.url,
        "status": status,
        "error": error.error,
        "reason": error.reason,
        "description": error.description,
        "attempts": messages.count_attempts(outcome.attempts),
    }
    if 300 <= status < 400:
        location = response.headers.get("Location") or "(no Location header)"
        return messages.REDIRECT_REJECTED.render(location=location, **common)
    if status == 400:
        return messages.BAD_REQUEST.render(**common)
    if status == 401:
        hint = messages.UNAUTHORIZED_HINTS.get(error.reason, messages.UNAUTHORIZED_HINT)
        return messages.UNAUTHORIZED.render(hint=hint, **common)
    if status == 403 and forbidden is not None:
        return forbidden.render(**common, **fields)
    if status == 409:
        template = (conflicts or {}).get(error.reason, messages.CONFLICT)
        return template.render(**common, **fields)
    if status == 413:
        return messages.PAYLOAD_TOO_LARGE.render(**common)
    if status == 429:
        retry_after = transport.parse_retry_after(response.headers.get("Retry-After"))
        wait = "a minute" if retry_after is None else f"{retry_after:.0f} s"
        return messages.RATE_LIMITED.render(retry_after=wait, **common)
    if status >= 500:
        hint = messages.SERVICE_UNAVAILABLE_HINTS.get(
            error.reason, messages.SERVICE_UNAVAILABLE_HINT
        )
        return messages.SERVICE_UNAVAILABLE.render(hint=hint, **common)
    return messages.UNEXPECTED_STATUS.render(**common)
