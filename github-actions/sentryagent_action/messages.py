"""Failure messages of the actions: what failed, how to fix it, where to read on.

Each template is a named constant with a title for the annotation, a cause, a
fix and the anchor of its section on the troubleshooting page of the portal.
Every field is neutralised before it is put into the text, because fields carry
text from the server, from the GitHub token and from the workflow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sentryagent_action.commands import neutralise

TROUBLESHOOTING_PAGE = "troubleshooting"


@dataclass(frozen=True)
class Failure:
    """A rendered failure, ready for ``runner.die``."""

    title: str
    cause: str
    fix: str
    anchor: str


class ActionFailed(Exception):
    """Raised to end the run with a failure, which the entry point reports."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.cause)
        self.failure = failure


def count_attempts(attempts: int) -> str:
    """Return "1 attempt" or "N attempts", for the ``{attempts}`` fields."""
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


@dataclass(frozen=True)
class FailureTemplate:
    """A failure message with ``{field}`` placeholders in its cause and fix."""

    title: str
    cause: str
    fix: str
    anchor: str

    def render(self, **fields: object) -> Failure:
        safe = {name: neutralise(str(value)) for name, value in fields.items()}
        return Failure(
            title=self.title.format(**safe),
            cause=self.cause.format(**safe),
            fix=self.fix.format(**safe),
            anchor=self.anchor,
        )


def docs_link(anchor: str, environ: Mapping[str, str] = os.environ) -> str:
    """Return the URL of a section of the troubleshooting page.

    SENTRYAGENT_DOCS_URL names a published copy of the portal. Without it the
    link points at the Markdown source in the repository the action was loaded
    from. That repository comes from the runner's action path
    (``.../_actions/OWNER/REPO/REF/...``) or, for a local action, from
    GITHUB_REPOSITORY and GITHUB_SHA.
    """
    published = environ.get("SENTRYAGENT_DOCS_URL", "").strip()
    if published:
        return f"{published.rstrip('/')}/{TROUBLESHOOTING_PAGE}/#{anchor}"
    source = f"docs/{TROUBLESHOOTING_PAGE}.md#{anchor}"
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    parts = re.split(r"[\\/]", environ.get("GITHUB_ACTION_PATH", ""))
    if "_actions" in parts:
        index = parts.index("_actions")
        owner_repo_ref = parts[index + 1 : index + 4]
        if len(owner_repo_ref) == 3 and all(owner_repo_ref):
            owner, repository, ref = owner_repo_ref
            return f"{server}/{owner}/{repository}/blob/{ref}/{source}"
    repository = environ.get("GITHUB_REPOSITORY", "")
    commit = environ.get("GITHUB_SHA", "")
    if repository and commit:
        return f"{server}/{repository}/blob/{commit}/{source}"
    return f"{source} in the SentryAgent repository"


INTERNAL_ERROR = FailureTemplate(
    title="Internal error",
    cause="The action failed unexpectedly with {error}.",
    fix=(
        "This is a bug in the action. Report it with the log of this step; the "
        "traceback is printed above the annotation."
    ),
    anchor="internal-error",
)

# Inputs and settings.

MISSING_INPUT = FailureTemplate(
    title="Missing input",
    cause="The {input} input is empty.",
    fix="Set it on the step that uses the action:\n\n    with:\n      {input}: ...",
    anchor="missing-or-invalid-input",
)

API_URL_INVALID = FailureTemplate(
    title="Invalid api-url",
    cause='The api-url input "{value}" is not an absolute http(s) URL.',
    fix=(
        "Set api-url to the base URL of the SentryAgent service, for example "
        "https://sentryagent.example.com."
    ),
    anchor="api-url-rejected",
)

API_URL_NOT_HTTPS = FailureTemplate(
    title="api-url is not https",
    cause=(
        'The api-url input "{value}" uses plain http, so the GitHub OIDC token and '
        "the access token would cross the network unencrypted."
    ),
    fix=(
        "Use an https:// URL. Plain http is accepted only for the loopback "
        "addresses 127.0.0.1, localhost and ::1, such as a service started in the "
        "same job."
    ),
    anchor="api-url-rejected",
)

API_URL_HAS_CREDENTIALS = FailureTemplate(
    title="api-url contains credentials",
    cause="The api-url input contains a user name or password.",
    fix=(
        "Remove the credentials from the URL. The action authenticates with the "
        "job's GitHub OIDC token and needs no other secret."
    ),
    anchor="api-url-rejected",
)

API_URL_HAS_QUERY = FailureTemplate(
    title="api-url has a query or fragment",
    cause='The api-url input "{value}" contains a query string or a fragment.',
    fix="Set api-url to the service's base URL, without ? or #.",
    anchor="api-url-rejected",
)

AGENT_ID_INVALID = FailureTemplate(
    title="Invalid agent-id",
    cause='The agent-id input "{value}" is not a UUID.',
    fix=(
        "Pass the agent id that register-agent outputs "
        "(steps.<step id>.outputs.agent-id) or that GET /agents lists, for example "
        "0b6f7c1e-52a4-4a4e-9d55-3f1c2d9e8a10."
    ),
    anchor="missing-or-invalid-input",
)

SETTING_INVALID = FailureTemplate(
    title="Invalid setting",
    cause='The environment variable {name}="{value}" is not {expected}.',
    fix="Set {name} to {expected}, or remove it to use the default ({default}).",
    anchor="missing-or-invalid-input",
)

NOT_IN_GITHUB_ACTIONS = FailureTemplate(
    title="Not running in GitHub Actions",
    cause="GITHUB_OUTPUT is not set, so the action has nowhere to write its outputs.",
    fix="Run the action as a step of a GitHub Actions job.",
    anchor="not-running-in-github-actions",
)

OUTPUT_WRITE_FAILED = FailureTemplate(
    title="Cannot write outputs",
    cause="Writing the outputs to {path} (GITHUB_OUTPUT) failed: {error}.",
    fix=(
        "Leave GITHUB_OUTPUT as the runner sets it. On a self-hosted runner, check "
        "that the runner's temporary folder exists and has free space."
    ),
    anchor="not-running-in-github-actions",
)

# The GitHub OIDC token.

MISSING_ID_TOKEN_PERMISSION = FailureTemplate(
    title="id-token: write permission missing",
    cause=(
        "The job cannot request a GitHub OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL "
        "and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set, which is what GitHub does "
        "when the job lacks the id-token: write permission."
    ),
    fix=(
        "Grant the permission on the job, or at the top of the workflow:\n\n"
        "    permissions:\n"
        "      id-token: write\n"
        "      contents: read\n\n"
        "A permissions block replaces the default permissions, so list every other "
        "permission the job needs as well."
    ),
    anchor="id-token-permission-missing",
)

FORK_PULL_REQUEST = FailureTemplate(
    title="Pull request from a fork",
    cause=(
        "This run is for a pull request from {head} into {base}. GitHub gives no "
        "OIDC token to workflows that pull requests from forks trigger, whatever "
        "the permissions block says."
    ),
    fix=(
        "Skip this step for pull requests from forks, for example with:\n\n"
        "    if: github.event.pull_request == null ||\n"
        "      github.event.pull_request.head.repo.full_name == github.repository"
        "\n\nDo not switch to pull_request_target to get a token: that event runs "
        "with the base repository's permissions, so it would hand the fork's code "
        "this repository's identity."
    ),
    anchor="pull-request-from-a-fork",
)

ID_TOKEN_REQUEST_FAILED = FailureTemplate(
    title="GitHub did not issue an OIDC token",
    cause=(
        "GitHub's OIDC token endpoint answered HTTP {status} when the action "
        "requested a token for the audience {audience}: {detail}"
    ),
    fix=(
        "Re-run the job. The token endpoint belongs to the Actions service, so a "
        "failure that persists points to GitHub or, on a self-hosted runner, to "
        "the runner's connection to GitHub."
    ),
    anchor="github-did-not-issue-a-token",
)

ID_TOKEN_RESPONSE_INVALID = FailureTemplate(
    title="GitHub did not issue an OIDC token",
    cause=(
        'GitHub\'s OIDC token endpoint returned no token: the JSON "value" field '
        "is missing or empty."
    ),
    fix=ID_TOKEN_REQUEST_FAILED.fix,
    anchor="github-did-not-issue-a-token",
)

# Reaching the service.

AUDIENCE_UNAVAILABLE = FailureTemplate(
    title="api-url is not a SentryAgent service",
    cause=(
        "GET {url} returned {problem} instead of the JSON object with an "
        '"audience" field that SentryAgent serves.'
    ),
    fix=(
        "Check that api-url is the base URL of a SentryAgent service, without a "
        "path such as /oidc."
    ),
    anchor="api-url-is-not-sentryagent",
)

UNEXPECTED_STATUS = FailureTemplate(
    title="Unexpected response",
    cause="{method} {url} answered HTTP {status}: {description}",
    fix=(
        "Check that api-url is the base URL of a SentryAgent service that serves "
        "{path}, without a path of its own."
    ),
    anchor="api-url-is-not-sentryagent",
)

REDIRECT_REJECTED = FailureTemplate(
    title="Redirect not followed",
    cause=(
        "{method} {url} answered HTTP {status} with a redirect to {location}. The "
        "action follows no redirect, so that its tokens go only to the host that "
        "api-url names."
    ),
    fix=(
        "Set api-url to the URL the service is served at, for example with https:// "
        "instead of http:// or without a trailing path."
    ),
    anchor="redirect-not-followed",
)

TIMED_OUT = FailureTemplate(
    title="Request timed out",
    cause="{method} {url} timed out: {detail} ({attempts}).",
    fix=(
        "Check that the runner can reach {host}. A self-hosted runner may need a "
        "proxy (HTTPS_PROXY) or a firewall rule. On a slow network, raise "
        "SENTRYAGENT_REQUEST_TIMEOUT or SENTRYAGENT_DEADLINE (seconds) in the "
        "step's env."
    ),
    anchor="timeouts-and-connection-errors",
)

CONNECTION_FAILED = FailureTemplate(
    title="Connection failed",
    cause="{method} {url} failed: {detail} ({attempts}).",
    fix=(
        "Check the api-url input, and that the runner can resolve and reach {host} "
        "and trusts its TLS certificate. A self-hosted runner may need a proxy "
        "(HTTPS_PROXY) or a firewall rule."
    ),
    anchor="timeouts-and-connection-errors",
)

RESPONSE_INVALID = FailureTemplate(
    title="Unexpected response",
    cause="{method} {url} answered HTTP {status}, but {problem}.",
    fix=(
        "Report this to the SentryAgent operator with the time of the run: the "
        "service and the action disagree on the response format."
    ),
    anchor="unexpected-response",
)

# Errors the service returns, with its RFC 6749 error and its reason code.

BAD_REQUEST = FailureTemplate(
    title="Request rejected (HTTP 400)",
    cause=(
        "SentryAgent rejected {method} {path} as invalid (HTTP 400, error {error}, "
        "reason {reason}): {description}"
    ),
    fix=(
        "Check the action's inputs against the description above. If they are "
        "right, report the reason code to the SentryAgent operator, because the "
        "action and the service then disagree on the request format."
    ),
    anchor="http-400-invalid-request",
)

UNAUTHORIZED = FailureTemplate(
    title="GitHub token rejected (HTTP 401)",
    cause=(
        "SentryAgent rejected the job's GitHub OIDC token (HTTP 401, error "
        "{error}, reason {reason}): {description}"
    ),
    fix="{hint}",
    anchor="http-401-github-token-rejected",
)

# Fixes for a 401 by reason code. UNAUTHORIZED_HINT covers the other codes.
UNAUTHORIZED_HINTS = {
    "token_replayed": (
        "The action requests a new GitHub token for every call, so re-run the job. "
        "If it happens again, another process is sending this job's tokens to the "
        "service."
    ),
    "invalid_audience": (
        "The token carried the audience that the service itself returned from "
        "/oidc/audience. The service's instances may disagree on "
        "GITHUB_OIDC_AUDIENCE: report this to the SentryAgent operator."
    ),
    "untrusted_issuer": (
        "The service does not trust this token's issuer. On GitHub Enterprise "
        "Server, the operator must add the instance's issuer to GITHUB_OIDC_ISSUER."
    ),
    "token_expired": (
        "The clock of the runner or of the service is off. Re-run the job, and "
        "report the time of the run to the operator if it happens again."
    ),
}
for _reason in ("token_not_yet_valid", "token_issued_in_future"):
    UNAUTHORIZED_HINTS[_reason] = UNAUTHORIZED_HINTS["token_expired"]
UNAUTHORIZED_HINT = (
    "Re-run the job. If it fails again, report the reason code and the time of "
    "the run to the SentryAgent operator, who can read the exchange log."
)

_TRUST_POLICY_CURL = (
    "    curl -X POST {api_url}/oidc/trust-policies \\\n"
    '        -H "Authorization: Token $SENTRYAGENT_API_TOKEN" \\\n'
    '        -H "Content-Type: application/json" \\\n'
    "        -d '{policy_json}'"
)

_TOKEN_PRESENTED = (
    "\n\nThe job's GitHub token presented repository {repository}, ref {ref}, "
    "event {event_name} (read from the token without verifying it)."
)

REGISTRATION_FORBIDDEN = FailureTemplate(
    title="No registration trust policy (HTTP 403)",
    cause=(
        "SentryAgent denied the registration of agent {name} (HTTP 403, error "
        "{error}, reason {reason}): {description}" + _TOKEN_PRESENTED
    ),
    fix=(
        "A tenant admin must add a registration trust policy, which is a trust "
        "policy without an agent, for this repository. In the admin, open "
        "{api_url}/admin/policies/trustpolicy/add/, set provider github and "
        "repository {repository}{branch_clause}, and leave Agent empty. With the "
        "API, using the admin's API token:\n\n" + _TRUST_POLICY_CURL + "{event_note}"
    ),
    anchor="http-403-no-matching-trust-policy",
)

EXCHANGE_FORBIDDEN = FailureTemplate(
    title="No matching trust policy (HTTP 403)",
    cause=(
        "SentryAgent denied an access token for agent {agent_id} (HTTP 403, error "
        "{error}, reason {reason}): {description}" + _TOKEN_PRESENTED
    ),
    fix=(
        "A tenant admin must add a trust policy that lets this repository act as "
        "the agent, or enable the agent if it is disabled. In the admin, open "
        "{api_url}/admin/policies/trustpolicy/add/, set provider github, "
        "repository {repository}{branch_clause}, and choose the agent. With the "
        "API, using the admin's API token:\n\n" + _TRUST_POLICY_CURL + "{event_note}"
    ),
    anchor="http-403-no-matching-trust-policy",
)

# Added to a 403 fix for events that a trust policy must allow explicitly.
EVENT_NOTE = (
    "\n\nThe {event_name} event runs code from outside the repository's own "
    'branches, so the policy must also list it: add "allowedEvents": '
    '["{event_name}"] to the body.'
)
EVENTS_NEEDING_OPT_IN = ("pull_request_target", "workflow_run")

AGENT_NAME_TAKEN = FailureTemplate(
    title="Agent name taken (HTTP 409)",
    cause=(
        "SentryAgent cannot register the agent {name} (HTTP 409, error {error}, "
        "reason {reason}): {description}"
    ),
    fix=(
        "Choose another agent-name, or ask a tenant admin to rename or delete the "
        "existing agent. A re-run from the repository that registered an agent "
        "reuses it, but another repository cannot take over its name."
    ),
    anchor="http-409-agent-name-taken",
)

AMBIGUOUS_TENANT = FailureTemplate(
    title="Tenant needed (HTTP 409)",
    cause=(
        "SentryAgent cannot tell which tenant should own the agent {name} (HTTP "
        "409, error {error}, reason {reason}): {description}"
    ),
    fix=(
        "This repository may register agents in more than one tenant. Set the "
        "tenant input to the slug of the tenant that should own the agent:\n\n"
        "    with:\n"
        "      tenant: your-tenant-slug"
    ),
    anchor="http-409-ambiguous-tenant",
)

CONFLICT = FailureTemplate(
    title="Conflict (HTTP 409)",
    cause=(
        "SentryAgent rejected {method} {path} with a conflict (HTTP 409, error "
        "{error}, reason {reason}): {description}"
    ),
    fix="Follow the description above, then re-run the job.",
    anchor="http-409-agent-name-taken",
)

PAYLOAD_TOO_LARGE = FailureTemplate(
    title="Request too large (HTTP 413)",
    cause=(
        "SentryAgent rejected {method} {path} as too large (HTTP 413, error "
        "{error}, reason {reason}): {description}"
    ),
    fix=(
        "Shorten agent-description and agent-name. GitHub OIDC tokens are far "
        "smaller than the service's limit, so if the inputs are short, report this "
        "to the operator."
    ),
    anchor="http-413-payload-too-large",
)

RATE_LIMITED = FailureTemplate(
    title="Rate limited (HTTP 429)",
    cause=(
        "SentryAgent still answered HTTP 429 (error {error}, reason {reason}) "
        "after {attempts}: {description}"
    ),
    fix=(
        "Too many requests reached the service in a short time. Re-run the job "
        "after {retry_after}, or spread out the jobs that call the service."
    ),
    anchor="http-429-rate-limited",
)

SERVICE_UNAVAILABLE = FailureTemplate(
    title="Service unavailable (HTTP {status})",
    cause=(
        "SentryAgent still answered HTTP {status} (error {error}, reason {reason}) "
        "after {attempts}: {description}"
    ),
    fix="{hint}",
    anchor="http-5xx-service-unavailable",
)

# Fixes for a 5xx by reason code. SERVICE_UNAVAILABLE_HINT covers the others.
SERVICE_UNAVAILABLE_HINTS = {
    "issuer_keys_unavailable": (
        "The service cannot fetch GitHub's signing keys and has none cached. "
        "Re-run the job later. The operator can check the service's access to "
        "token.actions.githubusercontent.com or set GITHUB_OIDC_JWKS_FILE."
    ),
    "database_unavailable": (
        "The service cannot reach its database. Re-run the job later and tell the "
        "SentryAgent operator."
    ),
}
SERVICE_UNAVAILABLE_HINT = (
    "Re-run the job later. If it keeps failing, report the status, the reason "
    "code and the time of the run to the SentryAgent operator."
)
