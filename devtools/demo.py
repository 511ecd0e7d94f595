"""Play the main job of SentryAgent against a real service process.

Run with ``make demo``. It starts a stand-in for GitHub's OIDC issuer and
SentryAgent under gunicorn, both on loopback with a throwaway SQLite database.
Then it exchanges a GitHub-shaped token for an access token and verifies that
token with the published JWKS, and shows a replay and a denied exchange from
another repository. Last, it plays a CI job through the register-agent and
issue-token actions.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import requests
from jose import jwt

from devtools.local_issuer import LocalIssuer

PROJECT_DIR = Path(__file__).resolve().parent.parent
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
HTTP_TIMEOUT = 10  # s


def step(title: str) -> None:
    print(f"\n== {title}")


def show(value: object) -> None:
    text = value if isinstance(value, str) else json.dumps(value, indent=2)
    print(textwrap.indent(text, "   "))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """SentryAgent under gunicorn with its own SQLite database."""

    def __init__(self, issuer: LocalIssuer, workdir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "gunicorn.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sentryagent.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}",
            "SENTRYAGENT_ISSUER": self.url,
            "SENTRYAGENT_ADMIN_PASSWORD": secrets.token_urlsafe(12),
            "GITHUB_OIDC_ISSUER": issuer.url,
        }
        self.bind = f"127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def start(self) -> None:
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    self.bind,
                    "--workers",
                    "2",
                    "sentryagent.wsgi:application",
                ],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                requests.get(f"{self.url}/oidc/audience", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not respond within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)


def exchange(service: Service, subject_token: str, agent_id: str) -> requests.Response:
    return requests.post(
        f"{service.url}/oidc/token",
        data={
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "agent_id": agent_id,
        },
        timeout=HTTP_TIMEOUT,
    )


def run_demo(issuer: LocalIssuer, service: Service) -> None:
    step(f"Local GitHub issuer on {issuer.url}; SentryAgent under gunicorn")
    service.manage("migrate", "--verbosity", "0")
    seeded = service.manage("seed_demo")
    agent_id = seeded.rsplit("Agent id:", 1)[1].strip()
    service.start()
    show(f"service: {service.url}\ndemo agent: {agent_id}")
    show("trust policy: org/repo-a on branch main may act as the agent")

    audience = requests.get(f"{service.url}/oidc/audience", timeout=HTTP_TIMEOUT)
    audience = audience.json()["audience"]
    step(f"GET /oidc/audience -> {audience}")

    step("Mint a GitHub-shaped OIDC token for a push to org/repo-a main")
    claims = issuer.claims(aud=audience)
    subject_token = issuer.mint(claims)
    show({name: claims[name] for name in ("iss", "aud", "repository", "ref")})

    step("POST /oidc/token")
    response = exchange(service, subject_token, agent_id)
    body = response.json()
    shown = {**body, "access_token": body["access_token"][:24] + "..."}
    show(f"HTTP {response.status_code}")
    show(shown)
    if response.status_code != 200:
        raise SystemExit("the exchange was not accepted")

    step("Verify the access token with GET /.well-known/jwks.json")
    jwks = requests.get(f"{service.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)
    verified = jwt.decode(
        body["access_token"],
        jwks.json(),
        algorithms=["RS256"],
        audience=service.url,
        issuer=service.url,
    )
    show("signature, issuer, audience and expiry verified; claims:")
    show(verified)

    step("Replay the same GitHub token")
    replay = exchange(service, subject_token, agent_id)
    show(f"HTTP {replay.status_code}")
    show(replay.json())

    step("A token from org/repo-b, which no trust policy allows")
    denied = exchange(
        service, issuer.mint(aud=audience, repository="org/repo-b"), agent_id
    )
    show(f"HTTP {denied.status_code}")
    show(denied.json())
    if denied.status_code != 403:
        raise SystemExit("the exchange from org/repo-b was not denied")

    play_ci_job(issuer, service)


def show_action_log(run) -> None:
    """Print an action's log as the runner would show it, secrets masked."""
    for line in run.stdout.splitlines():
        if line.startswith("::add-mask::"):
            # The runner consumes this command and never shows the value.
            line = "::add-mask::*** (a secret registered with the runner)"
        show(line)


def play_ci_job(issuer: LocalIssuer, service: Service) -> None:
    """Run both actions' composite steps as a runner runs a job's steps."""
    # The runner emulation of the actions' tests: it renders each step's env:
    # from the inputs and runs its run: script with bash.
    from tests.actions.harness import RunnerTokenEndpoint, run_composite

    step("A CI job of org/repo-a on main: register-agent, then issue-token")
    with RunnerTokenEndpoint(issuer) as endpoint, tempfile.TemporaryDirectory() as job:
        registered = run_composite(
            "register-agent",
            Path(job) / "register",
            endpoint,
            {"api-url": service.url, "agent-name": "release-bot"},
        )
        show("$ uses: ./.github/actions/register-agent")
        for run in registered.steps:
            show_action_log(run)
        if registered.returncode != 0:
            raise SystemExit("register-agent failed")
        agent_id = registered.outputs["agent-id"]
        show(f"outputs: agent-id={agent_id} created={registered.outputs['created']}")

        issued = run_composite(
            "issue-token",
            Path(job) / "issue",
            endpoint,
            {"api-url": service.url, "agent-id": agent_id},
        )
        show("$ uses: ./.github/actions/issue-token")
        for run in issued.steps:
            show_action_log(run)
        if issued.returncode != 0:
            raise SystemExit("issue-token failed")
        access_token = issued.outputs["access-token"]
        show(
            f"outputs: access-token=*** ({len(access_token)} characters, masked) "
            f"expires-at={issued.outputs['expires-at']}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sentryagent-demo-") as workdir:
        with LocalIssuer() as issuer:
            service = Service(issuer, Path(workdir))
            try:
                run_demo(issuer, service)
            finally:
                service.stop()
    print("\nDemo finished.")


if __name__ == "__main__":
    main()
