"""The register-agent action: register an agent from CI, or find it again.

It requests the audience from the service, then a GitHub OIDC token with that
audience, and posts it with the agent's name to ``/oidc/agents``. A 201 means
that the agent was created. A 200 returns the agent that this repository
registered under that name before, so a re-run of the job gets the same id.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from sentryagent_action import inputs, messages, oidc, runner, server, transport
from sentryagent_action.messages import ActionFailed

ACTION = "register-agent"
REGISTRATION_PATH = "/oidc/agents"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

REGISTERED = "Registered agent {name} with id {agent_id}."
ALREADY_REGISTERED = (
    "Agent {name} was registered from this repository before; reusing id {agent_id}."
)


def main(environ: Mapping[str, str] = os.environ) -> int:
    return runner.run_action(ACTION, register, environ)


def register(environ: Mapping[str, str]) -> None:
    api_url = inputs.read_api_url(environ)
    name = inputs.read_required(environ, "SENTRYAGENT_AGENT_NAME", "agent-name")
    description = inputs.read_optional(environ, "SENTRYAGENT_AGENT_DESCRIPTION")
    tenant = inputs.read_optional(environ, "SENTRYAGENT_TENANT")
    settings = inputs.read_settings(environ)
    if not environ.get("GITHUB_OUTPUT"):
        raise ActionFailed(messages.NOT_IN_GITHUB_ACTIONS.render())
    endpoint = oidc.find_token_endpoint(environ)

    deadline = transport.Deadline(settings.deadline)
    client = server.Client(api_url, settings, deadline, ACTION)
    audience = client.fetch_audience()
    id_tokens = oidc.IdTokenSource(endpoint, audience, settings, deadline)

    def encode(subject_token: str) -> tuple[bytes, str]:
        body = {"subject_token": subject_token, "name": name}
        if description:
            body["description"] = description
        if tenant:
            body["tenant"] = tenant
        return json.dumps(body).encode("utf-8"), "application/json"

    outcome = client.post(REGISTRATION_PATH, encode, id_tokens)
    response = outcome.response
    if response.status not in (200, 201):
        raise ActionFailed(
            server.failure_for_response(
                outcome,
                api_url,
                forbidden=messages.REGISTRATION_FORBIDDEN,
                conflicts={
                    "agent_name_taken": messages.AGENT_NAME_TAKEN,
                    "ambiguous_tenant": messages.AMBIGUOUS_TENANT,
                },
                name=name,
                **server.denial_fields(id_tokens.last_claims),
            )
        )

    agent_id, created = read_agent(response)
    runner.write_outputs(
        {"agent-id": agent_id, "created": "true" if created else "false"}, environ
    )
    template = REGISTERED if created else ALREADY_REGISTERED
    runner.info(template.format(name=name, agent_id=agent_id))


def read_agent(response: transport.Response) -> tuple[str, bool]:
    """Return the agent id and whether the agent is new, or raise ActionFailed."""
    body = response.json()
    if not isinstance(body, dict):
        problem = "its body is not a JSON object"
    elif not isinstance(body.get("id"), str) or not _UUID.match(body["id"].lower()):
        problem = 'its "id" field is not an agent UUID'
    elif not isinstance(body.get("created"), bool):
        problem = 'its "created" field is not true or false'
    elif body["created"] != (response.status == 201):
        problem = (
            f'"created" is {json.dumps(body["created"])} with HTTP {response.status}'
        )
    else:
        return body["id"].lower(), body["created"]
    raise ActionFailed(
        messages.RESPONSE_INVALID.render(
            method=response.method,
            url=response.url,
            status=response.status,
            problem=problem,
        )
    )
