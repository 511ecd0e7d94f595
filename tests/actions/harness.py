"""Run the actions as a GitHub Actions runner would, against loopback servers.

``RunnerTokenEndpoint`` is the runner's ACTIONS_ID_TOKEN_REQUEST_URL,
``StubService`` a scripted SentryAgent for failures the real service cannot be
made to produce, and ``run_script`` and ``run_composite`` start the actions'
code in a subprocess with the environment a runner gives a step.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from devtools.local_issuer import DEFAULT_AUDIENCE as AUDIENCE
from devtools.local_issuer import LocalIssuer

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACTIONS_CODE_DIR = PROJECT_DIR / "github-actions"
LAUNCHER = ACTIONS_CODE_DIR / "launch.sh"
ACTION_DIRS = {
    "register-agent": PROJECT_DIR / ".github" / "actions" / "register-agent",
    "issue-token": PROJECT_DIR / ".github" / "actions" / "issue-token",
}
ENTRY_SCRIPTS = {"register-agent": "register_agent.py", "issue-token": "issue_token.py"}
RUN_TIMEOUT = 90  # s, for one action run; the action's own deadline is shorter


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_json(
        self, status: int, body: object, headers: dict[str, str] | None = None
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a free port, in its own thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class TokenRequest:
    path: str
    authorization: str
    audiences: list[str]


class RunnerTokenEndpoint(LoopbackServer):
    """The runner's OIDC token endpoint, minting with the local issuer.

    Its URL has a query string of its own, as the runner's does, so the action
    must add ``audience`` to it. Tokens are minted for the requested audience
    with ``claim_overrides``; ``status`` other than 200 makes it fail.
    """

    PATH = "/_apis/distributedtask/hubs/Actions/plans/plan/jobs/job/idtoken"

    def __init__(self, issuer: LocalIssuer) -> None:
        self.issuer = issuer
        self.bearer_token = "runner-request-token-" + secrets.token_hex(16)
        self.claim_overrides: dict[str, Any] = {}
        self.status = 200
        self.requests: list[TokenRequest] = []
        self.minted: list[str] = []
        super().__init__(self._handler())
        self.request_url = f"{self.url}{self.PATH}?api-version=2.0"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                authorization = self.headers.get("Authorization", "")
                audiences = query.get("audience", [])
                endpoint.requests.append(
                    TokenRequest(self.path, authorization, audiences)
                )
                if authorization != f"bearer {endpoint.bearer_token}":
                    self.send_json(401, {"message": "bad bearer token"})
                    return
                if endpoint.status != 200:
                    self.send_json(endpoint.status, {"message": "token unavailable"})
                    return
                overrides = dict(endpoint.claim_overrides)
                if audiences:
                    overrides.setdefault("aud", audiences[0])
                token = endpoint.issuer.mint(**overrides)
                endpoint.minted.append(token)
                self.send_json(200, {"count": 1, "value": token})

        return Handler


@dataclass
class Reply:
    status: int
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # s before the reply is sent


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    def json(self) -> Any:
        return json.loads(self.body)


class StubService(LoopbackServer):
    """A scripted SentryAgent: each path sends its list of replies in turn.

    The last reply of a list repeats. ``/oidc/audience`` returns the test
    audience unless scripted otherwise, and unscripted paths return 404. A
    function in ``reply_factories`` builds the reply of its path at request
    time instead.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {
            "/oidc/audience": [Reply(200, {"audience": AUDIENCE})]
        }
        self.reply_factories: dict[str, Callable[[], Reply]] = {}
        self.received: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.received if request.path == path]

    def _next_reply(self, path: str) -> Reply:
        if path in self.reply_factories:
            return self.reply_factories[path]()
        with self._lock:
            replies = self.scripts.get(path)
            if not replies:
                return Reply(404, {"detail": "Not found."})
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                stub.received.append(
                    ReceivedRequest(
                        self.command,
                        self.path,
                        dict(self.headers.items()),
                        body,
                        time.monotonic(),
                    )
                )
                reply = stub._next_reply(self.path)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_json(reply.status, reply.body, reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


@dataclass
class ActionRun:
    """What one run of an action printed and wrote."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    output_file: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def commands(self, name: str) -> list[str]:
        """Return the workflow command lines of one kind, such as ``error``."""
        return [
            line
            for line in self.lines
            if re.match(rf"::{name}( [^:]*)?::", line.lstrip())
        ]

    def error(self) -> str:
        """Return the one error annotation, decoded as the runner decodes it."""
        errors = self.commands("error")
        assert len(errors) == 1, self.stdout
        data = errors[0].split("::", 2)[2]
        return decode_command_data(data)


def decode_command_data(data: str) -> str:
    return data.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def parse_output_file(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file written in the ``name<<DELIMITER`` format."""
    outputs = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value_lines = []
            while lines[index] != delimiter:
                value_lines.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(value_lines)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def runner_environment(
    tmp_path: Path,
    endpoint: RunnerTokenEndpoint | None,
    variables: dict[str, str | None],
) -> dict[str, str]:
    """Return the environment a runner gives a step; None in ``variables`` unsets.

    Only PATH and a few basics come from this process, so no proxy setting or
    SENTRYAGENT_* variable of the developer's shell leaks in.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    output_file = tmp_path / "github_output"
    summary_file = tmp_path / "step_summary"
    output_file.touch()
    summary_file.touch()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "org/repo-a",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
    }
    if endpoint is not None:
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] = endpoint.request_url
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = endpoint.bearer_token
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _finish(process: subprocess.CompletedProcess, env: dict[str, str]) -> ActionRun:
    output_path = Path(env.get("GITHUB_OUTPUT", "/nonexistent"))
    output_text = output_path.read_text() if output_path.is_file() else ""
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    return ActionRun(
        returncode=process.returncode,
        stdout=process.stdout,
        stderr=process.stderr,
        outputs=parse_output_file(output_text),
        summary=Path(summary_path).read_text() if summary_path else "",
        output_file=output_text,
    )


def run_script(
    action: str,
    tmp_path: Path,
    endpoint: RunnerTokenEndpoint | None,
    **variables: str | None,
) -> ActionRun:
    """Run an action's entry script through the launcher, as its step does."""
    env = runner_environment(tmp_path, endpoint, variables)
    process = subprocess.run(
        ["bash", str(LAUNCHER), ENTRY_SCRIPTS[action]],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return _finish(process, env)


# The expressions that the actions' action.yml files may contain.
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action(action: str) -> dict[str, Any]:
    return yaml.safe_load((ACTION_DIRS[action] / "action.yml").read_text())


def render(template: str, context: dict[str, dict[str, Any]]) -> str:
    """Replace ``${{ a.b }}`` and ``${{ steps.id.outputs.name }}`` expressions.

    Only dotted names are supported, which is all these actions use; anything
    else fails the test rather than being rendered wrongly.
    """

    def replace(match: re.Match) -> str:
        expression = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", expression):
            raise AssertionError(f"unsupported expression {expression!r}")
        value: Any = context
        for part in expression.split("."):
            if not isinstance(value, dict) or part not in value:
                raise AssertionError(f"unknown expression {expression!r}")
            value = value[part]
        return str(value)

    return _EXPRESSION.sub(replace, str(template))


@dataclass
class CompositeRun:
    """A composite action's run: each step's run and the action's outputs."""

    steps: list[ActionRun]
    outputs: dict[str, str]

    @property
    def returncode(self) -> int:
        return self.steps[-1].returncode

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)


def run_composite(
    action: str,
    tmp_path: Path,
    endpoint: RunnerTokenEndpoint | None,
    inputs: dict[str, str],
    **variables: str | None,
) -> CompositeRun:
    """Run a composite action's steps as the runner does.

    Each step's ``env:`` is rendered with the inputs (defaults from
    action.yml), its ``run:`` is written to a file and run with
    ``bash --noprofile --norc -e -o pipefail FILE``, the command line of
    ``shell: bash``, and GITHUB_ACTION_PATH names the action's folder. The
    action's outputs are then rendered from the steps' outputs.
    """
    definition = load_action(action)
    assert definition["runs"]["using"] == "composite"
    declared = definition.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared in action.yml: {unknown}"
    values = {name: spec.get("default", "") for name, spec in declared.items()}
    values.update(inputs)
    context: dict[str, dict[str, Any]] = {"inputs": values, "steps": {}}

    runs = []
    for index, step in enumerate(definition["runs"]["steps"]):
        assert step["shell"] == "bash"
        step_dir = tmp_path / f"step-{index}"
        step_dir.mkdir(parents=True)
        step_env = {name: render(value, context) for name, value in step["env"].items()}
        env = runner_environment(step_dir, endpoint, {**variables, **step_env})
        env["GITHUB_ACTION_PATH"] = str(ACTION_DIRS[action])
        script = step_dir / "script.sh"
        script.write_text(step["run"])
        process = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
            env=env,
            cwd=step_dir,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        run = _finish(process, env)
        runs.append(run)
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": run.outputs}
        if run.returncode != 0:
            return CompositeRun(runs, {})

    outputs = {
        name: render(spec["value"], context)
        for name, spec in definition.get("outputs", {}).items()
    }
    return CompositeRun(runs, outputs)
