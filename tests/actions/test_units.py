"""Units of the actions' package: escaping, URLs, headers, links and messages."""

import email.utils
import re
import time

import pytest
from sentryagent_action import commands, inputs, messages, oidc, runner, transport
from sentryagent_action.messages import ActionFailed, FailureTemplate

from tests.actions.harness import PROJECT_DIR

# Workflow command escaping, as the runner decodes it.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("100%", "100%25"),
        ("a\r\nb", "a%0D%0Ab"),
        ("%0A", "%250A"),
        ("a::b", "a::b"),
    ],
)
def test_escape_data(value, expected):
    assert commands.escape_data(value) == expected


def test_escape_property():
    assert commands.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_command_formats_properties_and_data():
    line = commands.command("error", "x\ny", title="SentryAgent: t")

    assert line == "::error title=SentryAgent%3A t::x%0Ay"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no command", "no command"),
        # A command at a line start, even after whitespace, is broken.
        ("::warning::x", ": :warning::x"),
        ("a\n  ::set-output name=x::y", "a\n  : :set-output name=x::y"),
        # Carriage returns end lines for the runner, so they become line feeds.
        ("a\r::error::x", "a\n: :error::x"),
        ("a\r\nb", "a\nb"),
        # Other control characters, escape sequences included, become spaces.
        ("red\x1b[31m bell\x07 nel\x85", "red [31m bell  nel "),
        # A command in the middle of a line is not a command.
        ("text ::error::x", "text ::error::x"),
    ],
)
def test_neutralise(text, expected):
    assert commands.neutralise(text) == expected


def test_neutralise_cuts_long_text():
    assert commands.neutralise("x" * 5000) == "x" * 1997 + "..."


def test_neutralise_removes_registered_secret_before_cutting():
    secret = "s3cr3t-" + "z" * 40
    commands.register_secret(secret)

    text = commands.neutralise("y" * 1980 + secret)

    assert "s3cr3t" not in text
    assert text.endswith("***")


def test_fenced_block_longer_than_backtick_runs():
    block = runner.fenced("a ``` b\n`````\n")

    assert block.startswith("``````text\n")
    assert block.endswith("\n``````")


# The GitHub OIDC token request.


@pytest.mark.parametrize(
    ("endpoint_url", "expected"),
    [
        ("https://runner.example/token", "https://runner.example/token?audience=a%20b"),
        (
            "https://runner.example/token?api-version=2.0",
            "https://runner.example/token?api-version=2.0&audience=a%20b",
        ),
        # An audience already in the URL is replaced, so only one is sent.
        (
            "https://runner.example/token?audience=old&x=1",
            "https://runner.example/token?x=1&audience=a%20b",
        ),
    ],
)
def test_token_request_url(endpoint_url, expected):
    assert oidc.token_request_url(endpoint_url, "a b") == expected


def test_token_request_url_encodes_reserved_characters():
    url = oidc.token_request_url("https://r.example/t?v=1", "https://x/?a=1&b=#c")

    assert (
        url == "https://r.example/t?v=1&audience=https%3A%2F%2Fx%2F%3Fa%3D1%26b%3D%23c"
    )


def test_unverified_claims_reads_payload(local_issuer):
    token = local_issuer.mint(repository="org/repo-z")

    assert oidc.unverified_claims(token)["repository"] == "org/repo-z"


@pytest.mark.parametrize("token", ["", "a.b", "a.!!!.c", "a.bnVsbA.c", "a.WzFd.c"])
def test_unverified_claims_of_garbage(token):
    assert oidc.unverified_claims(token) == {}


# Inputs.


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://sentryagent.example", "https://sentryagent.example"),
        ("https://sentryagent.example/", "https://sentryagent.example"),
        ("https://sentryagent.example/base/", "https://sentryagent.example/base"),
        ("  https://sentryagent.example  ", "https://sentryagent.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://LOCALHOST", "http://LOCALHOST"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_api_url_accepted(api_url, expected):
    assert inputs.read_api_url({"SENTRYAGENT_API_URL": api_url}) == expected


@pytest.mark.parametrize(
    "api_url", ["http://127.0.0.2", "http://localhost.example", "http://[::2]"]
)
def test_api_url_http_rejected_off_loopback(api_url):
    with pytest.raises(ActionFailed) as raised:
        inputs.read_api_url({"SENTRYAGENT_API_URL": api_url})

    assert raised.value.failure.title == "api-url is not https"


def test_settings_defaults():
    settings = inputs.read_settings({})

    assert settings == inputs.Settings(15.0, 120.0, 4)


# Retry-After and the deadline.


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("5", 5.0), (" 7 ", 7.0), ("soon", None), ("-3", None)],
)
def test_parse_retry_after_seconds(value, expected):
    assert transport.parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    in_the_past = email.utils.formatdate(time.time() - 100, usegmt=True)

    assert 8 <= transport.parse_retry_after(in_ten_seconds) <= 10
    assert transport.parse_retry_after(in_the_past) == 0.0


def test_deadline_limits_request_timeout():
    now = [100.0]
    deadline = transport.Deadline(10, clock=lambda: now[0])

    now[0] = 107.5
    assert deadline.timeout(15) == 2.5
    now[0] = 111.0
    with pytest.raises(transport.DeadlineExceeded):
        deadline.timeout(15)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_doubles_up_to_maximum(attempt):
    expected = min(transport.FIRST_BACKOFF * 2 ** (attempt - 1), transport.MAX_BACKOFF)

    assert 0.75 * expected <= transport.backoff(attempt) <= expected


# Messages and their links.


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"SENTRYAGENT_DOCS_URL": "https://docs.example/portal/"},
            "https://docs.example/portal/troubleshooting/#x",
        ),
        (
            {"GITHUB_ACTION_PATH": "/home/runner/work/_actions/acme/sa/v1/.github/x"},
            "https://github.com/acme/sa/blob/v1/docs/troubleshooting.md#x",
        ),
        (
            {
                "GITHUB_SERVER_URL": "https://ghe.example",
                "GITHUB_ACTION_PATH": r"D:\a\_actions\acme\sa\v1\.github\x",
            },
            "https://ghe.example/acme/sa/blob/v1/docs/troubleshooting.md#x",
        ),
        (
            {
                "GITHUB_ACTION_PATH": "/home/runner/work/repo/repo/.github/x",
                "GITHUB_REPOSITORY": "org/repo",
                "GITHUB_SHA": "abc",
            },
            "https://github.com/org/repo/blob/abc/docs/troubleshooting.md#x",
        ),
        ({}, "docs/troubleshooting.md#x in the SentryAgent repository"),
    ],
)
def test_docs_link(environ, expected):
    assert messages.docs_link("x", environ) == expected


def all_templates() -> list[FailureTemplate]:
    return [
        value for value in vars(messages).values() if isinstance(value, FailureTemplate)
    ]


def mkdocs_slugs(markdown: str) -> set[str]:
    """Return the heading anchors that MkDocs' toc extension and GitHub make.

    Both lower-case the heading, drop characters other than letters, digits,
    spaces and hyphens, and turn spaces into hyphens. The headings on the
    troubleshooting page use nothing that the two treat differently.
    """
    slugs = set()
    for heading in re.findall(r"^#{2,4} (.+)$", markdown, re.MULTILINE):
        slug = re.sub(r"[^\w\s-]", "", heading.lower()).strip()
        slugs.add(re.sub(r"[\s]+", "-", slug))
    return slugs


def test_every_failure_links_to_existing_section():
    page = (PROJECT_DIR / "docs" / "troubleshooting.md").read_text()
    anchors = mkdocs_slugs(page)

    for template in all_templates():
        assert template.anchor in anchors, template.title
    assert "python-not-found" in anchors


def test_templates_render_with_their_fields():
    fields = {
        name: "x"
        for name in (
            "input value name expected default head base status audience detail url "
            "problem method location attempts host path error reason description "
            "hint name agent_id api_url repository ref event_name branch_clause "
            "policy_json event_note retry_after"
        ).split()
    }

    for template in all_templates():
        # A placeholder without a field raises KeyError; none may be left over.
        failure = template.render(**fields)
        assert "{" not in failure.title + failure.cause + failure.fix
        assert failure.anchor == template.anchor


def test_render_neutralises_fields():
    failure = messages.BAD_REQUEST.render(
        method="POST",
        path="/oidc/agents",
        error="invalid_request",
        reason="x",
        description="bad\n::warning::injected",
    )

    assert "\n: :warning::injected" in failure.cause


def test_die_of_bug_reports_internal_error(capsys, tmp_path):
    summary = tmp_path / "summary"

    with pytest.raises(SystemExit) as raised:
        runner.die_of_bug(
            ValueError("boom"), "issue-token", {"GITHUB_STEP_SUMMARY": str(summary)}
        )

    assert raised.value.code == 1
    stdout = capsys.readouterr().out
    assert stdout.startswith("::error title=SentryAgent%3A Internal error::")
    assert "ValueError: boom" in stdout
    assert "### issue-token: Internal error" in summary.read_text()
