"""The job's GitHub OIDC token: whether the job can have one, and requesting it.

The runner offers the token through ACTIONS_ID_TOKEN_REQUEST_URL, which takes
the audience as a query parameter and the bearer token in
ACTIONS_ID_TOKEN_REQUEST_TOKEN, and returns ``{"value": "<JWT>"}``. GitHub
sets both variables only for jobs with the ``id-token: write`` permission.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from sentryagent_action import VERSION, messages, runner, transport
from sentryagent_action.inputs import Settings
from sentryagent_action.messages import ActionFailed

REQUEST_URL_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_URL"
REQUEST_TOKEN_VARIABLE = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# Events whose runs for a pull request from a fork get no OIDC token.
PULL_REQUEST_EVENTS = (
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
)
USER_AGENT = f"sentryagent-action/{VERSION}"


@dataclass(frozen=True)
class TokenEndpoint:
    """The runner's OIDC token endpoint: its URL and the bearer token it requires."""

    url: str
    bearer_token: str = field(repr=False)


def find_token_endpoint(environ: Mapping[str, str]) -> TokenEndpoint:
    """Return the runner's token endpoint, masking its bearer token.

    Raises ActionFailed when the job cannot request tokens. A pull request
    from a fork is reported as such, because adding the permission would not
    help there.
    """
    url = environ.get(REQUEST_URL_VARIABLE, "")
    bearer_token = environ.get(REQUEST_TOKEN_VARIABLE, "")
    if url and bearer_token:
        runner.add_mask(bearer_token)
        return TokenEndpoint(url, bearer_token)
    fork = find_fork_pull_request(environ)
    if fork is not None:
        head, base = fork
        raise ActionFailed(messages.FORK_PULL_REQUEST.render(head=head, base=base))
    raise ActionFailed(messages.MISSING_ID_TOKEN_PERMISSION.render())


def find_fork_pull_request(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """Return (head, base) repositories if the run is for a pull request from a fork.

    The event payload at GITHUB_EVENT_PATH names both repositories. A head
    repository of null means that the fork has been deleted, which is a fork
    as well.
    """
    if environ.get("GITHUB_EVENT_NAME", "") not in PULL_REQUEST_EVENTS:
        return None
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as event_file:
            event = json.load(event_file)
        pull_request = event["pull_request"]
        base = pull_request["base"]["repo"]["full_name"]
        head_repo = pull_request["head"]["repo"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if head_repo is None:
        return "a deleted fork", str(base)
    head = head_repo.get("full_name") if isinstance(head_repo, dict) else None
    if not isinstance(head, str) or head.lower() == str(base).lower():
        return None
    return head, str(base)


def token_request_url(endpoint_url: str, audience: str) -> str:
    """Return the endpoint URL with ``audience`` as its (only) audience parameter.

    The URL that the runner provides may already have a query string, whose
    other parameters are kept as they are.
    """
    parts = urllib.parse.urlsplit(endpoint_url)
    parameters = [
        pair
        for pair in parts.query.split("&")
        if pair and urllib.parse.unquote_plus(pair.split("=", 1)[0]) != "audience"
    ]
    parameters.append("audience=" + urllib.parse.quote(audience, safe=""))
    return urllib.parse.urlunsplit(parts._replace(query="&".join(parameters)))


def unverified_claims(token: str) -> dict[str, object]:
    """Return the JWT's payload without checking its signature, or {} if unreadable.

    Only for messages: the service verifies the token and nothing here decides
    on these claims.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class IdTokenSource:
    """A source of GitHub OIDC tokens: a new one for every call, masked first.

    ``last_claims`` contains the unverified claims of the latest token, so
    that a denial can name the repository, ref and event the service saw.
    """

    def __init__(
        self,
        endpoint: TokenEndpoint,
        audience: str,
        settings: Settings,
        deadline: transport.Deadline,
    ) -> None:
        self.endpoint = endpoint
        self.audience = audience
        self.policy = transport.RetryPolicy(
            settings.request_timeout, settings.max_attempts
        )
        self.deadline = deadline
        self.last_claims: dict[str, object] = {}

    def fetch(self) -> str:
        """Return a fresh OIDC token, or raise ActionFailed."""
        url = token_request_url(self.endpoint.url, self.audience)

        def build_request() -> urllib.request.Request:
            return urllib.request.Request(
                url,
                headers={
                    "Authorization": f"bearer {self.endpoint.bearer_token}",
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                },
            )

        try:
            outcome = transport.send_with_retries(
                build_request, self.policy, self.deadline
            )
        except transport.TransportError as error:
            raise ActionFailed(error.failure()) from None
        response = outcome.response
        body = response.json()
        token = body.get("value") if isinstance(body, dict) else None
        if isinstance(token, str) and token:
            runner.add_mask(token)
        if response.status != 200:
            raise ActionFailed(
                messages.ID_TOKEN_REQUEST_FAILED.render(
                    status=response.status,
                    audience=self.audience,
                    detail=response.text() or "(empty body)",
                )
            )
        if not isinstance(token, str) or not token:
            raise ActionFailed(messages.ID_TOKEN_RESPONSE_INVALID.render())
        self.last_claims = unverified_claims(token)
        return token
