"""The issue-token action: exchange the job's GitHub token for an access token.

It requests the audience from the service, then a GitHub OIDC token with that
audience, and exchanges it at ``/oidc/token`` (RFC 8693 token exchange) for a
short-lived access token of the agent. The access token is masked before
anything else happens with it and is never printed.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Mapping

from sentryagent_action import inputs, messages, oidc, runner, server, transport
from sentryagent_action.messages import ActionFailed

ACTION = "issue-token"
TOKEN_PATH = "/oidc/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
# ISO 8601 in UTC, as the service writes expires_at: 2026-12-03T21:50:00Z.
# A "+00:00" offset and fractions of a second are accepted and dropped.
_EXPIRES_AT = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)$"
)
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

ISSUED = "Issued an access token for agent {agent_id}; it expires at {expires_at}."


def main(environ: Mapping[str, str] = os.environ) -> int:
    return runner.run_action(ACTION, issue, environ)


def issue(environ: Mapping[str, str]) -> None:
    api_url = inputs.read_api_url(environ)
    agent_id = inputs.read_agent_id(environ)
    settings = inputs.read_settings(environ)
    if not environ.get("GITHUB_OUTPUT"):
        raise ActionFailed(messages.NOT_IN_GITHUB_ACTIONS.render())
    endpoint = oidc.find_token_endpoint(environ)

    deadline = transport.Deadline(settings.deadline)
    client = server.Client(api_url, settings, deadline, ACTION)
    audience = client.fetch_audience()
    id_tokens = oidc.IdTokenSource(endpoint, audience, settings, deadline)

    def encode(subject_token: str) -> tuple[bytes, str]:
        form = {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": SUBJECT_TOKEN_TYPE,
            "agent_id": agent_id,
        }
        body = urllib.parse.urlencode(form).encode("ascii")
        return body, "application/x-www-form-urlencoded"

    outcome = client.post(TOKEN_PATH, encode, id_tokens)
    response = outcome.response
    body = response.json()
    access_token = body.get("access_token") if isinstance(body, dict) else None
    if isinstance(access_token, str):
        runner.add_mask(access_token)
    if response.status != 200:
        raise ActionFailed(
            server.failure_for_response(
                outcome,
                api_url,
                forbidden=messages.EXCHANGE_FORBIDDEN,
                agent_id=agent_id,
                **server.denial_fields(id_tokens.last_claims, agent_id),
            )
        )

    access_token, expires_at = read_access_token(response)
    runner.write_outputs(
        {"access-token": access_token, "expires-at": expires_at}, environ
    )
    runner.info(ISSUED.format(agent_id=agent_id, expires_at=expires_at))


def read_access_token(response: transport.Response) -> tuple[str, str]:
    """Return the access token and its expiry as ISO 8601 UTC, or raise ActionFailed.

    The expiry comes from ``expires_at``, or from ``expires_in`` counted from
    now when the service sends only that.
    """
    body = response.json()
    fields = body if isinstance(body, dict) else {}
    access_token = fields.get("access_token")
    token_type = fields.get("token_type")
    expires_at = read_expires_at(fields)
    if not isinstance(body, dict):
        problem = "its body is not a JSON object"
    elif not isinstance(access_token, str) or not access_token:
        problem = 'its "access_token" field is missing or empty'
    elif not isinstance(token_type, str) or token_type.lower() != "bearer":
        problem = 'its "token_type" field is not "Bearer"'
    elif expires_at is None:
        problem = 'it has neither an ISO 8601 UTC "expires_at" nor an "expires_in"'
    else:
        return access_token, expires_at
    raise ActionFailed(
        messages.RESPONSE_INVALID.render(
            method=response.method,
            url=response.url,
            status=response.status,
            problem=problem,
        )
    )


def read_expires_at(fields: Mapping[str, object]) -> str | None:
    expires_at = fields.get("expires_at")
    if isinstance(expires_at, str):
        match = _EXPIRES_AT.match(expires_at)
        if match is None:
            return None
        try:
            time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
        return match.group(1) + "Z"
    expires_in = fields.get("expires_in")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool):
        return time.strftime(ISO_UTC_FORMAT, time.gmtime(time.time() + expires_in))
    return None
