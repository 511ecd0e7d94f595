"""Failures of both actions, each with its own message.

Most cases run against StubService, which can return what the real service
would not: 5xx, 429, redirects, slow replies and hostile text. None of them
needs the database.
"""

import json
import re
import socket
import uuid

import pytest

from tests.actions.harness import (
    ActionRun,
    Reply,
    StubService,
    run_script,
)

AGENT_ID = "0b6f7c1e-52a4-4a4e-9d55-3f1c2d9e8a10"
AGENT = {
    "id": AGENT_ID,
    "tenant": "acme",
    "name": "release-bot",
    "created": True,
}
ACCESS_TOKEN = {
    "access_token": "header.payload.signature",
    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    "token_type": "Bearer",
    "expires_in": 900,
    "expires_at": "2026-12-03T21:50:00Z",
}
# Short limits, so that retries and timeouts finish in seconds.
FAST = {"SENTRYAGENT_REQUEST_TIMEOUT": "1", "SENTRYAGENT_MAX_ATTEMPTS": "2"}


def error_body(error: str, reason: str, description: str) -> dict:
    return {"error": error, "error_description": description, "reason": reason}


def register(stub: StubService, token_endpoint, tmp_path, **variables) -> ActionRun:
    env = {
        "SENTRYAGENT_API_URL": stub.url,
        "SENTRYAGENT_AGENT_NAME": "release-bot",
        **variables,
    }
    return run_script("register-agent", tmp_path, token_endpoint, **env)


def issue(stub: StubService, token_endpoint, tmp_path, **variables) -> ActionRun:
    env = {
        "SENTRYAGENT_API_URL": stub.url,
        "SENTRYAGENT_AGENT_ID": AGENT_ID,
        **variables,
    }
    return run_script("issue-token", tmp_path, token_endpoint, **env)


def assert_failed(run: ActionRun, title: str, *fragments: str) -> str:
    """Check for one error annotation with the title and fragments; return it."""
    assert run.returncode == 1, run.stdout + run.stderr
    annotation = run.commands("error")[0]
    escaped_title = title.replace(":", "%3A").replace(",", "%2C")
    assert f"title=SentryAgent%3A {escaped_title}::" in annotation
    message = run.error()
    for fragment in fragments:
        assert fragment in message
    assert "How to fix it: " in message
    assert "docs/troubleshooting.md#" in message
    assert title in run.summary
    assert run.outputs == {}
    return message


# The job cannot get a GitHub OIDC token.


def test_missing_id_token_permission(stub_service, tmp_path):
    run = register(stub_service, None, tmp_path)

    message = assert_failed(
        run,
        "id-token: write permission missing",
        "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set",
        "    permissions:\n      id-token: write\n      contents: read\n",
        "#id-token-permission-missing",
    )
    assert "fork" not in message
    assert stub_service.received == []


def write_event(tmp_path, head: str | None, base: str = "org/repo-a") -> str:
    head_repo = None if head is None else {"full_name": head}
    event = {
        "pull_request": {
            "head": {"repo": head_repo},
            "base": {"repo": {"full_name": base}},
        }
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


@pytest.mark.parametrize(
    ("head", "shown"),
    [
        ("someone/repo-a", "from someone/repo-a into org/repo-a"),
        (None, "from a deleted fork into org/repo-a"),
    ],
)
def test_pull_request_from_fork(stub_service, tmp_path, head, shown):
    run = issue(
        stub_service,
        None,
        tmp_path,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=write_event(tmp_path, head),
    )

    assert_failed(
        run,
        "Pull request from a fork",
        shown,
        "GitHub gives no OIDC token",
        "github.event.pull_request.head.repo.full_name == github.repository",
        "#pull-request-from-a-fork",
    )
    assert stub_service.received == []


def test_pull_request_from_same_repository_needs_permission(stub_service, tmp_path):
    run = issue(
        stub_service,
        None,
        tmp_path,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=write_event(tmp_path, "org/repo-a"),
    )

    assert_failed(run, "id-token: write permission missing")


def test_token_endpoint_failure(stub_service, token_endpoint, tmp_path):
    token_endpoint.status = 500

    run = register(stub_service, token_endpoint, tmp_path, **FAST)

    assert_failed(
        run,
        "GitHub did not issue an OIDC token",
        "answered HTTP 500",
        "for the audience http://127.0.0.1:8000",
    )
    assert len(token_endpoint.requests) == 2
    assert stub_service.requests_to("/oidc/agents") == []


def test_token_endpoint_rejects_bearer(stub_service, token_endpoint, tmp_path):
    run = register(
        stub_service, token_endpoint, tmp_path, ACTIONS_ID_TOKEN_REQUEST_TOKEN="wrong"
    )

    assert_failed(run, "GitHub did not issue an OIDC token", "answered HTTP 401")
    assert len(token_endpoint.requests) == 1


def test_audience_is_url_encoded_into_existing_query(
    stub_service, token_endpoint, tmp_path
):
    audience = "https://sentry agent.example/a?b=c&d=e#f"
    stub_service.script("/oidc/audience", Reply(200, {"audience": audience}))
    stub_service.script("/oidc/agents", Reply(201, AGENT))

    run = register(stub_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    request = token_endpoint.requests[0]
    assert request.audiences == [audience]
    query = request.path.split("?", 1)[1]
    assert query == (
        "api-version=2.0&audience="
        "https%3A%2F%2Fsentry%20agent.example%2Fa%3Fb%3Dc%26d%3De%23f"
    )


# The api-url input and the other inputs.


@pytest.mark.parametrize(
    ("api_url", "title", "fragment"),
    [
        # Plain http leaves loopback.
        (
            "http://sentryagent.example",
            "api-url is not https",
            "uses plain http",
        ),
        ("http://127.0.0.2:8000", "api-url is not https", "uses plain http"),
        ("http://10.0.0.1", "api-url is not https", "uses plain http"),
        # Not a URL the action can use.
        ("sentryagent.example", "Invalid api-url", "not an absolute http(s) URL"),
        ("ftp://sentryagent.example", "Invalid api-url", "not an absolute"),
        ("https://", "Invalid api-url", "not an absolute"),
        ("https://host:99999", "Invalid api-url", "not an absolute"),
        (
            "https://user:hunter2-pw@sentryagent.example",
            "api-url contains credentials",
            "user name or password",
        ),
        (
            "https://sentryagent.example/?x=1",
            "api-url has a query or fragment",
            "query string or a fragment",
        ),
        ("", "Missing input", "The api-url input is empty."),
    ],
)
def test_api_url_rejected(
    stub_service, token_endpoint, tmp_path, api_url, title, fragment
):
    run = register(stub_service, token_endpoint, tmp_path, SENTRYAGENT_API_URL=api_url)

    message = assert_failed(run, title, fragment)
    assert "hunter2-pw" not in message
    assert token_endpoint.requests == []


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"SENTRYAGENT_AGENT_ID": ""}, "The agent-id input is empty."),
        ({"SENTRYAGENT_AGENT_ID": "release-bot"}, 'input "release-bot" is not a UUID'),
        (
            {"SENTRYAGENT_REQUEST_TIMEOUT": "soon"},
            'SENTRYAGENT_REQUEST_TIMEOUT="soon" is not a number of seconds',
        ),
        (
            {"SENTRYAGENT_DEADLINE": "0"},
            'SENTRYAGENT_DEADLINE="0" is not a number of seconds',
        ),
        (
            {"SENTRYAGENT_MAX_ATTEMPTS": "100"},
            'SENTRYAGENT_MAX_ATTEMPTS="100" is not a whole number from 1 to 10',
        ),
    ],
)
def test_invalid_input(stub_service, token_endpoint, tmp_path, variables, fragment):
    run = issue(stub_service, token_endpoint, tmp_path, **variables)

    assert run.returncode == 1
    assert fragment in run.error()
    assert token_endpoint.requests == []


def test_agent_name_missing(stub_service, token_endpoint, tmp_path):
    run = register(stub_service, token_endpoint, tmp_path, SENTRYAGENT_AGENT_NAME=" ")

    assert_failed(run, "Missing input", "The agent-name input is empty.")


def test_outside_github_actions(stub_service, token_endpoint, tmp_path):
    run = register(stub_service, token_endpoint, tmp_path, GITHUB_OUTPUT=None)

    assert_failed(run, "Not running in GitHub Actions", "GITHUB_OUTPUT is not set")


# Responses of the service that are retried.


def test_5xx_retried_with_fresh_github_token(stub_service, token_endpoint, tmp_path):
    unavailable = error_body(
        "temporarily_unavailable", "database_unavailable", "Retry in a few seconds."
    )
    stub_service.script(
        "/oidc/agents",
        Reply(503, unavailable),
        Reply(502, b"Bad gateway"),
        Reply(201, AGENT),
    )

    run = register(stub_service, token_endpoint, tmp_path, SENTRYAGENT_MAX_ATTEMPTS="3")

    assert run.returncode == 0, run.stdout
    assert run.outputs == {"agent-id": AGENT_ID, "created": "true"}
    sent = [
        request.json()["subject_token"]
        for request in stub_service.requests_to("/oidc/agents")
    ]
    assert len(sent) == 3
    assert sent == token_endpoint.minted
    assert len(set(sent)) == 3
    assert any("failed (HTTP 503); retrying in" in line for line in run.lines)


def test_5xx_persisting(stub_service, token_endpoint, tmp_path):
    stub_service.script(
        "/oidc/token",
        Reply(
            503,
            error_body(
                "temporarily_unavailable",
                "issuer_keys_unavailable",
                "GitHub's keys cannot be fetched.",
            ),
        ),
    )

    run = issue(stub_service, token_endpoint, tmp_path, **FAST)

    assert_failed(
        run,
        "Service unavailable (HTTP 503)",
        "still answered HTTP 503 (error temporarily_unavailable, reason "
        "issuer_keys_unavailable) after 2 attempts: GitHub's keys cannot be fetched.",
        "cannot fetch GitHub's signing keys",
        "#http-5xx-service-unavailable",
    )
    assert len(stub_service.requests_to("/oidc/token")) == 2


def test_429_waits_for_retry_after(stub_service, token_endpoint, tmp_path):
    slow_down = error_body("slow_down", "rate_limited", "Too many requests.")
    stub_service.script(
        "/oidc/token",
        Reply(429, slow_down, headers={"Retry-After": "2"}),
        Reply(200, ACCESS_TOKEN),
    )

    run = issue(stub_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    first, second = stub_service.requests_to("/oidc/token")
    assert second.at - first.at >= 2.0
    assert any("retrying in 2.0 s" in line for line in run.lines)


def test_429_persisting(stub_service, token_endpoint, tmp_path):
    slow_down = error_body("slow_down", "rate_limited", "Too many requests.")
    stub_service.script(
        "/oidc/token", Reply(429, slow_down, headers={"Retry-After": "1"})
    )

    run = issue(stub_service, token_endpoint, tmp_path, **FAST)

    assert_failed(
        run,
        "Rate limited (HTTP 429)",
        "still answered HTTP 429 (error slow_down, reason rate_limited) after 2 "
        "attempts",
        "Re-run the job after 1 s",
    )


def test_retry_after_beyond_deadline_stops(stub_service, token_endpoint, tmp_path):
    slow_down = error_body("slow_down", "rate_limited", "Too many requests.")
    stub_service.script(
        "/oidc/token", Reply(429, slow_down, headers={"Retry-After": "30"})
    )

    run = issue(stub_service, token_endpoint, tmp_path, SENTRYAGENT_DEADLINE="5")

    assert_failed(run, "Rate limited (HTTP 429)", "after 1 attempt:")
    assert len(stub_service.requests_to("/oidc/token")) == 1


def test_request_timeout(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/audience", Reply(200, {"audience": "x"}, delay=3))

    run = register(stub_service, token_endpoint, tmp_path, **FAST)

    assert_failed(
        run,
        "Request timed out",
        f"GET {stub_service.url}/oidc/audience timed out: timed out after 1 s "
        "(2 attempts).",
        "Check that the runner can reach 127.0.0.1.",
        "SENTRYAGENT_REQUEST_TIMEOUT",
    )


def test_overall_deadline(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/token", Reply(200, ACCESS_TOKEN, delay=4))

    run = issue(
        stub_service,
        token_endpoint,
        tmp_path,
        SENTRYAGENT_REQUEST_TIMEOUT="30",
        SENTRYAGENT_DEADLINE="2",
    )

    message = assert_failed(
        run, "Request timed out", f"POST {stub_service.url}/oidc/token"
    )
    # The POST gets what is left of the 2 s, and no time remains for a retry.
    assert re.search(r"timed out after [\d.]+ s \(1 attempt\)", message)


def test_connection_refused(token_endpoint, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    run = run_script(
        "register-agent",
        tmp_path,
        token_endpoint,
        SENTRYAGENT_API_URL=closed_url,
        SENTRYAGENT_AGENT_NAME="release-bot",
        **FAST,
    )

    assert_failed(
        run,
        "Connection failed",
        f"GET {closed_url}/oidc/audience failed: [Errno 111] Connection refused "
        "(2 attempts).",
    )


# Responses of the service that are not retried.


@pytest.mark.parametrize(
    ("status", "body", "title", "fragment"),
    [
        (
            400,
            error_body("invalid_request", "missing_parameter", "The name is missing."),
            "Request rejected (HTTP 400)",
            "reason missing_parameter): The name is missing.",
        ),
        (
            401,
            error_body("invalid_grant", "untrusted_issuer", "Untrusted issuer."),
            "GitHub token rejected (HTTP 401)",
            "GITHUB_OIDC_ISSUER",
        ),
        (
            401,
            error_body("invalid_grant", "token_replayed", "Already exchanged."),
            "GitHub token rejected (HTTP 401)",
            "requests a new GitHub token for every call",
        ),
        (
            413,
            error_body("invalid_request", "payload_too_large", "Too large."),
            "Request too large (HTTP 413)",
            "Shorten agent-description",
        ),
        (
            409,
            error_body("invalid_request", "agent_name_taken", "Name taken."),
            "Agent name taken (HTTP 409)",
            "cannot register the agent release-bot",
        ),
        (
            404,
            {"detail": "Not found."},
            "Unexpected response",
            "answered HTTP 404",
        ),
    ],
)
def test_error_status_not_retried(
    stub_service, token_endpoint, tmp_path, status, body, title, fragment
):
    stub_service.script("/oidc/agents", Reply(status, body))

    run = register(stub_service, token_endpoint, tmp_path)

    assert_failed(run, title, fragment)
    assert len(stub_service.requests_to("/oidc/agents")) == 1


def test_audience_missing(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/audience", Reply(404, {"detail": "Not found."}))

    run = register(stub_service, token_endpoint, tmp_path)

    assert_failed(
        run,
        "api-url is not a SentryAgent service",
        f"GET {stub_service.url}/oidc/audience returned HTTP 404",
    )
    assert token_endpoint.requests == []


def test_redirect_not_followed(stub_service, token_endpoint, tmp_path):
    with StubService() as elsewhere:
        elsewhere.script("/oidc/token", Reply(200, ACCESS_TOKEN))
        stub_service.script(
            "/oidc/token",
            Reply(307, {}, headers={"Location": f"{elsewhere.url}/oidc/token"}),
        )

        run = issue(stub_service, token_endpoint, tmp_path)

        assert_failed(
            run,
            "Redirect not followed",
            f"answered HTTP 307 with a redirect to {elsewhere.url}/oidc/token",
        )
        assert elsewhere.received == []
    assert len(stub_service.requests_to("/oidc/token")) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>ok</html>", "its body is not a JSON object"),
        ({**AGENT, "id": "42"}, 'its "id" field is not an agent UUID'),
        ({**AGENT, "created": "yes"}, 'its "created" field is not true or false'),
        ({**AGENT, "created": False}, '"created" is false with HTTP 201'),
    ],
)
def test_register_response_invalid(
    stub_service, token_endpoint, tmp_path, body, problem
):
    stub_service.script("/oidc/agents", Reply(201, body))

    run = register(stub_service, token_endpoint, tmp_path)

    assert_failed(run, "Unexpected response", f"answered HTTP 201, but {problem}.")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"access_token": ""}, '"access_token" field is missing or empty'),
        ({"token_type": "DPoP"}, '"token_type" field is not "Bearer"'),
        (
            {"expires_at": "tomorrow", "expires_in": None},
            'neither an ISO 8601 UTC "expires_at" nor an "expires_in"',
        ),
    ],
)
def test_issue_response_invalid(
    stub_service, token_endpoint, tmp_path, changes, problem
):
    body = {
        name: value
        for name, value in {**ACCESS_TOKEN, **changes}.items()
        if value is not None
    }
    stub_service.script("/oidc/token", Reply(200, body))

    run = issue(stub_service, token_endpoint, tmp_path)

    assert_failed(run, "Unexpected response", problem)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"expires_at": "2026-12-03T21:50:00.123456+00:00"}, "2026-12-03T21:50:00Z"),
        ({"expires_at": "2026-12-03T21:50:00Z"}, "2026-12-03T21:50:00Z"),
    ],
)
def test_issue_normalises_expires_at(
    stub_service, token_endpoint, tmp_path, changes, expected
):
    stub_service.script("/oidc/token", Reply(200, {**ACCESS_TOKEN, **changes}))

    run = issue(stub_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    assert run.outputs["expires-at"] == expected


def test_issue_computes_expiry_from_expires_in(stub_service, token_endpoint, tmp_path):
    body = {name: value for name, value in ACCESS_TOKEN.items() if name != "expires_at"}
    stub_service.script("/oidc/token", Reply(200, body))

    run = issue(stub_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run.outputs["expires-at"])


def test_issue_posts_token_exchange_form(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/token", Reply(200, ACCESS_TOKEN))

    run = issue(stub_service, token_endpoint, tmp_path)

    assert run.returncode == 0, run.stdout
    (request,) = stub_service.requests_to("/oidc/token")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": token_endpoint.minted[0],
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "agent_id": AGENT_ID,
    }


def test_register_posts_json(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/agents", Reply(201, AGENT))

    run = register(
        stub_service,
        token_endpoint,
        tmp_path,
        SENTRYAGENT_AGENT_DESCRIPTION="Publishes releases",
        SENTRYAGENT_TENANT="acme",
    )

    assert run.returncode == 0, run.stdout
    (request,) = stub_service.requests_to("/oidc/agents")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "subject_token": token_endpoint.minted[0],
        "name": "release-bot",
        "description": "Publishes releases",
        "tenant": "acme",
    }


# Text from the server cannot issue workflow commands.

HOSTILE_TEXT = (
    "denied\n::warning::injected\r\n  ::set-output name=agent-id::evil\r"
    "::add-mask::x\n%0A::error::encoded\x1b[31m ```\n```\n<img src=x>"
)


def our_command(line: str) -> bool:
    return line.startswith(("::add-mask::", "::error title=SentryAgent%3A "))


@pytest.mark.parametrize("status", [403, 500])
def test_server_text_cannot_issue_commands(
    stub_service, token_endpoint, tmp_path, status
):
    stub_service.script(
        "/oidc/agents",
        Reply(status, error_body("access_denied", "no_matching_policy", HOSTILE_TEXT)),
    )

    run = register(stub_service, token_endpoint, tmp_path, **FAST)

    assert run.returncode == 1
    for line in run.lines:
        if line.lstrip().startswith("::"):
            assert our_command(line), line
    annotation = run.commands("error")[0]
    assert "\r" not in annotation
    assert "%250A::error::encoded" in annotation
    message = run.error()
    assert "\n: :warning::injected\n" in message
    assert "\n  : :set-output name=agent-id::evil\n: :add-mask::x" in message
    assert "\x1b" not in message
    assert run.outputs == {}


def test_server_text_cannot_close_summary_code_block(
    stub_service, token_endpoint, tmp_path
):
    stub_service.script(
        "/oidc/agents",
        Reply(403, error_body("access_denied", "no_matching_policy", HOSTILE_TEXT)),
    )

    run = register(stub_service, token_endpoint, tmp_path)

    fence = re.search(r"^(`{3,})text$", run.summary, re.MULTILINE).group(1)
    assert len(fence) > 3
    body = run.summary.split(fence + "text\n", 1)[1]
    assert body.count("\n" + fence + "\n") == 1
    assert "<img src=x>" in body.split("\n" + fence + "\n")[0]


def test_output_file_not_writable(stub_service, token_endpoint, tmp_path):
    stub_service.script("/oidc/agents", Reply(201, AGENT))
    missing = tmp_path / "missing-folder" / str(uuid.uuid4())

    run = register(stub_service, token_endpoint, tmp_path, GITHUB_OUTPUT=str(missing))

    assert_failed(
        run,
        "Cannot write outputs",
        f"Writing the outputs to {missing} (GITHUB_OUTPUT) failed: No such file or "
        "directory.",
    )
