"""A stand-in for GitHub's OIDC issuer, served on loopback.

It publishes a discovery document and a JWKS like
``https://token.actions.githubusercontent.com`` does, and mints tokens shaped
like GitHub's. Tests, the demo and the benchmark use it; it never leaves
loopback.
"""

import json
import secrets
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt


def generate_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# The audience of minted tokens: SentryAgent's default public URL.
DEFAULT_AUDIENCE = "http://127.0.0.1:8000"


def github_id(name: str) -> str:
    """Return a stable numeric id for a repository or owner name, as GitHub has."""
    return str(zlib.crc32(name.lower().encode()) + 1)


class LocalIssuer:
    """An OIDC issuer on ``http://127.0.0.1:<port>`` with one or more RSA keys."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "") -> None:
        """Serve on ``host:port``; ``path``, such as ``/acme``, makes the issuer
        URL end with it, as GitHub's enterprise issuers do."""
        self.path = path
        self.keys: dict[str, str] = {}
        self._key_objects: dict[str, tuple[str, Any]] = {}
        self.active_kid = self.add_key()
        self.requests: list[str] = []
        # Set to a status code to make the JWKS endpoint fail, or to a number
        # of seconds in ``jwks_delay`` to make it slow.
        self.jwks_status = 200
        self.jwks_delay = 0.0
        # Fields that replace those of the discovery document.
        self.discovery_overrides: dict[str, Any] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_port}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LocalIssuer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalIssuer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def add_key(self, kid: str | None = None) -> str:
        kid = kid or secrets.token_hex(20).upper()
        self.keys[kid] = generate_rsa_pem()
        return kid

    def key_object(self, kid: str):
        """Return the parsed private key of a kid; parsing a PEM takes ~50 ms."""
        pem = self.keys[kid]
        cached = self._key_objects.get(kid)
        if cached is None or cached[0] != pem:
            cached = (pem, jwk.construct(pem, algorithm="RS256"))
            self._key_objects[kid] = cached
        return cached[1]

    def jwks(self) -> dict:
        published = []
        for kid in list(self.keys):
            public = self.key_object(kid).public_key().to_dict()
            public.update({"kid": kid, "use": "sig"})
            published.append(public)
        return {"keys": published}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Return claims shaped like GitHub's for a push to ``org/repo-a`` main."""
        now = int(time.time())
        repository = overrides.pop("repository", "org/repo-a")
        owner = repository.split("/")[0]
        ref = overrides.pop("ref", "refs/heads/main")
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": f"repo:{repository}:ref:{ref}",
            "aud": DEFAULT_AUDIENCE,
            "ref": ref,
            "sha": secrets.token_hex(20),
            "repository": repository,
            "repository_owner": owner,
            "repository_owner_id": github_id(owner),
            "run_id": str(secrets.randbelow(10**10)),
            "run_number": "1",
            "run_attempt": "1",
            "repository_visibility": "private",
            "repository_id": github_id(repository),
            "actor_id": "3003",
            "actor": "octocat",
            "workflow": "CI",
            "head_ref": "",
            "base_ref": "",
            "event_name": "push",
            "ref_type": "branch",
            "job_workflow_ref": f"{repository}/.github/workflows/ci.yml@{ref}",
            "iss": self.url,
            "nbf": now - 600,
            "exp": now + 300,
            "iat": now,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """Sign GitHub-shaped claims; keyword arguments override claims.

        A claim overridden with None is left out.
        """
        kid = kid or self.active_kid
        payload = claims if claims is not None else self.claims(**overrides)
        return jwt.encode(
            payload,
            self.key_object(kid),
            algorithm="RS256",
            headers={"kid": kid, "typ": "JWT", **(headers or {})},
        )

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                path = self.path.removeprefix(issuer.path)
                if path == "/.well-known/openid-configuration":
                    self._send(
                        200,
                        {
                            "issuer": issuer.url,
                            "jwks_uri": f"{issuer.url}/.well-known/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"],
                            **issuer.discovery_overrides,
                        },
                    )
                elif path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", f"{issuer.url}/.well-known/jwks")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/.well-known/jwks":
                    if issuer.jwks_delay:
                        time.sleep(issuer.jwks_delay)
                    if issuer.jwks_status != 200:
                        self._send(issuer.jwks_status, {"error": "unavailable"})
                    else:
                        self._send(200, issuer.jwks())
                else:
                    self._send(404, {"error": "not found"})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
