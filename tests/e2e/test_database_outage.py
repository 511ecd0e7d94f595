"""The service when its database goes away and comes back.

gunicorn reaches PostgreSQL through a TCP proxy on loopback that the test
can cut, as a network partition or a database restart would.
"""

import socket
import threading
import time

import pytest
import requests
from django.db import connection

from tests import factories
from tests.conftest import AUDIENCE, LiveService, _free_port, exchange_params

pytestmark = pytest.mark.django_db(transaction=True)


class CuttableProxy:
    """Forwards TCP connections from a loopback port to a target, until cut.

    While cut, new connections are closed at once and open ones are dropped.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.cut = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass

    def disconnect(self) -> None:
        """Refuse new connections and drop the open ones."""
        self.cut = True
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def reconnect(self) -> None:
        self.cut = False

    def close(self) -> None:
        self._running = False
        self.disconnect()
        self._listener.close()


@pytest.fixture
def proxied_service(django_db_setup, local_issuer):
    config = connection.settings_dict
    if config["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no connection to cut")
    proxy = CuttableProxy(config.get("HOST") or "127.0.0.1", int(config["PORT"]))
    user = config.get("USER") or "postgres"
    database_url = f"postgres://{user}@127.0.0.1:{proxy.port}/{config['NAME']}"
    service = LiveService(local_issuer, DATABASE_URL=database_url).start()
    yield service, proxy
    service.stop()
    proxy.close()


def post_token(service: LiveService, subject_token: str, agent_id):
    return requests.post(
        f"{service.url}/oidc/token",
        data=exchange_params(subject_token, agent_id),
        timeout=15,
    )


def test_database_outage_and_recovery(
    proxied_service, local_issuer, policy, tenant_admin
):
    service, proxy = proxied_service
    api_headers = {"Authorization": f"Token {factories.make_api_token(tenant_admin)}"}
    before = post_token(service, local_issuer.mint(aud=AUDIENCE), policy.agent_id)

    proxy.disconnect()
    started = time.monotonic()
    during = post_token(service, local_issuer.mint(aud=AUDIENCE), policy.agent_id)
    during_seconds = time.monotonic() - started
    ready_during = requests.get(f"{service.url}/readyz", timeout=15)
    live_during = requests.get(f"{service.url}/healthz", timeout=15)
    api_during = requests.get(f"{service.url}/agents", headers=api_headers, timeout=15)

    proxy.reconnect()
    after = post_token(service, local_issuer.mint(aud=AUDIENCE), policy.agent_id)
    ready_after = requests.get(f"{service.url}/readyz", timeout=15)

    assert before.status_code == 200, before.text
    assert during.status_code == 503, during.text
    assert during.json()["error"] == "temporarily_unavailable"
    assert during.json()["reason"] == "database_unavailable"
    assert "Retry" in during.json()["error_description"]
    assert during_seconds < 10
    assert ready_during.status_code == 503
    assert ready_during.json() == {"status": "unavailable"}
    assert live_during.status_code == 200
    assert api_during.status_code == 503
    assert api_during.json()["code"] == "database_unavailable"
    assert after.status_code == 200, after.text
    assert ready_after.status_code == 200
