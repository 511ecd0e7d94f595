"""Two SentryAgent deployments sharing one database and one Redis cache.

Each deployment is its own gunicorn master with its own workers, as two
machines behind a load balancer would be. What must hold across them: replay
protection, signing keys and rate limits.
"""

import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from django.core.management import call_command
from jose import jwt

from tests.conftest import AUDIENCE, LiveService, _free_port, exchange_params

pytestmark = pytest.mark.django_db(transaction=True)

RATE_LIMIT = 20  # requests per minute per client address
PUBLIC_URL = AUDIENCE


@pytest.fixture(scope="session")
def redis_url():
    """A private redis-server on loopback, started for the test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server")

    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="sentryagent-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("redis-server did not start within 10 s")
            time.sleep(0.1)

    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def two_services(django_db_setup, django_db_blocker, local_issuer, redis_url):
    # One deployment: both processes have the public URL of the load balancer.
    env = {
        "CACHE_URL": redis_url,
        "SENTRYAGENT_RATE_LIMIT": f"{RATE_LIMIT}/min",
        "SENTRYAGENT_ISSUER": PUBLIC_URL,
    }
    first = LiveService(local_issuer, **env).start()
    second = LiveService(local_issuer, **env).start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture(autouse=True)
def _empty_redis(redis_url):
    redis.Redis.from_url(redis_url).flushall()


def post_token(service: LiveService, subject_token: str, agent_id) -> requests.Response:
    return requests.post(
        f"{service.url}/oidc/token",
        data=exchange_params(subject_token, agent_id),
        timeout=15,
    )


def test_replay_refused_on_other_process(two_services, local_issuer, policy):
    first, second = two_services
    subject_token = local_issuer.mint(aud=AUDIENCE)

    accepted = post_token(first, subject_token, policy.agent_id)
    replayed = post_token(second, subject_token, policy.agent_id)

    assert accepted.status_code == 200, accepted.text
    assert replayed.status_code == 401
    assert replayed.json()["reason"] == "token_replayed"


def test_concurrent_presentations_yield_one_token(two_services, local_issuer, policy):
    first, second = two_services
    subject_token = local_issuer.mint(aud=AUDIENCE)
    targets = [first, second] * 6

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        responses = list(
            pool.map(lambda s: post_token(s, subject_token, policy.agent_id), targets)
        )

    statuses = sorted(response.status_code for response in responses)
    reasons = [response.json().get("reason") for response in responses]
    assert statuses.count(200) == 1, reasons


def test_rotated_key_served_by_both(two_services, local_issuer, policy):
    first, second = two_services
    before = post_token(first, local_issuer.mint(aud=AUDIENCE), policy.agent_id)
    old_kid = jwt.get_unverified_header(before.json()["access_token"])["kid"]

    call_command("rotate_signing_key")
    after = post_token(second, local_issuer.mint(aud=AUDIENCE), policy.agent_id)
    new_kid = jwt.get_unverified_header(after.json()["access_token"])["kid"]

    assert new_kid != old_kid
    for service in (first, second):
        jwks = requests.get(f"{service.url}/.well-known/jwks.json", timeout=10).json()
        kids = {key["kid"] for key in jwks["keys"]}
        assert kids == {old_kid, new_kid}, service.url
        for response in (before, after):
            claims = jwt.decode(
                response.json()["access_token"],
                jwks,
                algorithms=["RS256"],
                audience=PUBLIC_URL,
                issuer=PUBLIC_URL,
            )
            assert claims["sub"] == str(policy.agent_id)


def test_rate_limit_counts_across_processes(two_services):
    first, second = two_services
    statuses = []
    for index in range(RATE_LIMIT + 1):
        service = (first, second)[index % 2]
        response = requests.post(f"{service.url}/oidc/token", data={}, timeout=10)
        statuses.append(response.status_code)

    assert statuses[:RATE_LIMIT] == [400] * RATE_LIMIT
    assert statuses[RATE_LIMIT] == 429
