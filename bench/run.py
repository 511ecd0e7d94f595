"""Run the whole benchmark once and write docs/benchmarks.md.

Run with ``make bench``. One run starts a private PostgreSQL cluster with two
databases, a small and a large data set, SentryAgent under gunicorn once for
each (one worker per core), and the local stand-in for GitHub's issuer, all on
127.0.0.1. Only one service is under load at a time.

For each concurrency, the run measures the minimal DRF view
``GET /oidc/audience`` and ``POST /oidc/token`` on both data sets in two
rounds, in mirrored order (audience, small, large, large, small, audience).
A load of other programs that rises or falls during the run then shifts every
endpoint alike. Before and after, the run measures the cryptography floor in
process. Every phase has a fixed duration, and everything started is stopped
and deleted at the end, also after an error or Ctrl-C.
"""

import argparse
import logging
import math
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import django
import requests
from django.apps import apps

from bench import floors, load, machine, report
from bench.cpu import CpuMeter
from bench.postgres import PostgresCluster
from bench.redis_server import RedisServer
from bench.results import DataSetResult, RunResult, WarmUp
from bench.service import PROJECT_DIR, GunicornService, service_environment
from bench.tokens import Target, exchange_body, mint, signing_key, write_body_file
from devtools.local_issuer import LocalIssuer

logger = logging.getLogger("bench")

JWKS_PATH = "/.well-known/jwks"
WARM_UP_SECONDS = 3
WARM_UP_TOKENS = 1_500
REPLAY_CHECK_TOKENS = 50
HTTP_TIMEOUT = 10  # s
# Tokens minted per phase: this many times the warm-up's throughput times the
# phase's duration, so that no wrk thread runs out.
TOKEN_MARGIN = 2.5
# Seconds to wait after a phase, since PostgreSQL backends flush their
# counters to pg_stat_database when they go idle or exit.
COUNTER_FLUSH_WAIT = 1.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--duration", type=int, default=15, help="seconds of each load phase"
    )
    parser.add_argument(
        "--concurrency",
        default="1,4,16",
        help="comma-separated numbers of concurrent clients (default: 1,4,16)",
    )
    parser.add_argument(
        "--crypto-seconds",
        type=float,
        default=3.0,
        help="seconds of each cryptography floor measurement",
    )
    parser.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class (default: sync, as in gunicorn.conf.py)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker; more than 1 makes gunicorn use gthread",
    )
    parser.add_argument(
        "--skip-large",
        action="store_true",
        help="measure the small data set only (for trying the script out)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=PROJECT_DIR / "docs" / "benchmarks.md",
        help="Markdown file to write (default: docs/benchmarks.md)",
    )
    return parser.parse_args(argv)


def _raise_on_sigterm(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def close_database_connections() -> None:
    """Close this process's connections, before a fork or the cluster's stop."""
    if apps.ready:
        from django.db import connections

        connections.close_all()


@dataclass
class DataSet:
    """One data set: its database, the service that uses it, what it measured."""

    name: str
    database: str
    service: GunicornService
    result: DataSetResult
    env: dict | None = None
    meter: CpuMeter | None = None
    targets: list[Target] | None = None
    warm_up_throughput: float = 0.0


class Benchmark:
    """One run: the processes it started and what it measured."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.concurrencies = [int(part) for part in options.concurrency.split(",")]
        self.cores = machine.cores()
        self.workdir = Path(tempfile.mkdtemp(prefix="sentryagent-bench-"))
        self.cluster = PostgresCluster()
        self.redis = RedisServer()
        self.issuer = LocalIssuer()

        names = ["small"] if options.skip_large else ["small", "large"]
        self.data_sets = [
            DataSet(
                name=name,
                database=f"sentryagent_{name}",
                service=GunicornService(
                    self.workdir / name,
                    workers=self.cores,
                    worker_class=options.worker_class,
                    threads=options.threads,
                ),
                result=DataSetResult(name=name),
            )
            for name in names
        ]
        self.small = self.data_sets[0]
        self.key = signing_key(self.issuer)

        self.result = RunResult(
            started_at=datetime.now(UTC),
            machine=machine.describe(),
            workers=self.cores,
            worker_class=options.worker_class,
            threads=options.threads,
            duration=options.duration,
            concurrencies=self.concurrencies,
        )
        self.phase_number = 0

    # Processes

    def start(self) -> None:
        self.cluster.start()
        self.redis.start()
        self.issuer.start()
        for index, data_set in enumerate(self.data_sets):
            url = self.cluster.create_database(data_set.database)
            data_set.env = service_environment(
                url, self.issuer.url, data_set.service.url, self.redis.url(index)
            )
        self.result.rate_limit = self.small.env["SENTRYAGENT_RATE_LIMIT"]
        # This process uses the small set's settings to migrate, seed and
        # inspect, and points its connection at each database in turn.
        os.environ.update(self.small.env)
        django.setup()
        from django.core.management import call_command

        from bench.queries import using_database

        for data_set in self.data_sets:
            with using_database(data_set.database):
                call_command("migrate", verbosity=0)
        self.result.gunicorn_settings = self.small.service.resolved_settings(
            self.small.env
        )
        self.result.versions = machine.versions(self.cluster.server_version())

    def start_services(self) -> None:
        for data_set in self.data_sets:
            data_set.service.start(data_set.env)
            data_set.meter = CpuMeter(
                data_set.service.process.pid, self.cluster.postmaster_pid()
            )

    def stop(self) -> None:
        for data_set in self.data_sets:
            data_set.service.stop()
        self.issuer.stop()
        self.redis.stop()
        close_database_connections()
        self.cluster.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # Measurements

    def run(self) -> RunResult:
        from bench import queries, seed

        close_database_connections()
        self.result.crypto_before = floors.measure(
            self.issuer, self.small.service.url, self.options.crypto_seconds, self.cores
        )
        with queries.using_database(self.small.database):
            self.small.targets = seed.seed_small()
        for data_set in self.data_sets[1:]:
            started = time.monotonic()
            with queries.using_database(data_set.database):
                data_set.targets = seed.seed_large(self.issuer.url)
            data_set.result.seed_seconds = time.monotonic() - started

        self.start_services()
        for data_set in self.data_sets:
            self.inspect(data_set)
        for data_set in self.data_sets:
            data_set.warm_up_throughput = self.warm_up(data_set).throughput
        self.result.jwks_fetches_at_warm_up = self.jwks_fetches()
        self.result.worker_boots_at_warm_up = self.worker_boots()

        for concurrency in self.concurrencies:
            self.measure_concurrency(concurrency)

        self.check_replay()
        close_database_connections()
        self.result.crypto_after = floors.measure(
            self.issuer, self.small.service.url, self.options.crypto_seconds, self.cores
        )
        self.finish()
        return self.result

    def inspect(self, data_set: DataSet) -> None:
        """Count rows and capture the SQL of one exchange, with its plans."""
        from bench import queries, seed

        result = data_set.result
        result.targets = len(data_set.targets)
        fetches_before = self.jwks_fetches()
        with queries.using_database(data_set.database):
            result.row_counts = seed.record_counts()
            # The first exchange fills this process's caches; the second's SQL
            # is the one reported.
            host = self.small.service.url.removeprefix("http://")
            for _ in range(2):
                body = self.body(data_set.targets[0], self.small.service.url)
                captured = queries.capture_exchange(body, host)
            result.captured = captured
            result.plans = [
                (statement, queries.explain(statement))
                for statement in captured.statements
                if statement.startswith(("SELECT", "UPDATE"))
            ]
        self.result.jwks_fetches_in_process += self.jwks_fetches() - fetches_before

    def warm_up(self, data_set: DataSet) -> WarmUp:
        """Send exchanges at 4 clients, each on a new connection.

        New connections spread over the workers, so each worker most likely
        fetches the issuer's keys and parses the signing key before the
        measured phases. The report counts the fetches after the warm-ups.
        """
        close_database_connections()
        body_file = write_body_file(
            self.workdir / f"{data_set.name}-warm-up.txt",
            self.issuer,
            data_set.targets,
            data_set.service.url,
            WARM_UP_TOKENS,
            self.cores,
        )
        phase = load.run_phase(
            f"{data_set.name} warm-up",
            f"{data_set.service.url}/oidc/token",
            concurrency=4,
            duration=WARM_UP_SECONDS,
            cores=self.cores,
            body_file=body_file,
            bodies_available=WARM_UP_TOKENS,
            close_connections=True,
        )
        body_file.unlink()
        warm_up = WarmUp(phase.throughput, phase.requests, phase.errors)
        self.result.warm_ups[data_set.name] = warm_up
        return warm_up

    def measure_concurrency(self, concurrency: int) -> None:
        """Measure every endpoint at one concurrency, in mirrored rounds."""
        order = ["audience", *[data_set.name for data_set in self.data_sets]]
        rounds: dict[str, list[load.PhaseResult]] = {name: [] for name in order}
        for name in [*order, *reversed(order)]:
            if name == "audience":
                boots_before = self.small.service.worker_boots()
                phase = load.run_phase(
                    "audience",
                    f"{self.small.service.url}/oidc/audience",
                    concurrency=concurrency,
                    duration=self.options.duration,
                    cores=self.cores,
                    meter=self.small.meter,
                )
                phase.worker_boots = self.small.service.worker_boots() - boots_before
            else:
                data_set = next(d for d in self.data_sets if d.name == name)
                phase = self.exchange_phase(data_set, concurrency)
            rounds[name].append(phase)
        self.result.audience.append(load.combine(rounds["audience"]))
        for data_set in self.data_sets:
            data_set.result.exchange.append(load.combine(rounds[data_set.name]))

    def exchange_phase(self, data_set: DataSet, concurrency: int) -> load.PhaseResult:
        from bench import queries

        expected = max(data_set.warm_up_throughput, 50)
        count = math.ceil(expected * TOKEN_MARGIN * self.options.duration)
        for _attempt in range(2):
            self.phase_number += 1
            close_database_connections()
            body_file = write_body_file(
                self.workdir / f"phase-{self.phase_number}.txt",
                self.issuer,
                data_set.targets,
                data_set.service.url,
                count,
                self.cores,
            )
            before = queries.database_counters(data_set.database)
            boots_before = data_set.service.worker_boots()
            phase = load.run_phase(
                f"{data_set.name} exchange",
                f"{data_set.service.url}/oidc/token",
                concurrency=concurrency,
                duration=self.options.duration,
                cores=self.cores,
                body_file=body_file,
                bodies_available=count,
                meter=data_set.meter,
            )
            phase.worker_boots = data_set.service.worker_boots() - boots_before
            time.sleep(COUNTER_FLUSH_WAIT)
            phase.database = queries.database_counters(data_set.database) - before
            body_file.unlink()
            if not phase.exhausted_threads:
                return phase
            logger.warning(
                "token pool exhausted data_set=%s concurrency=%s tokens=%s; "
                "repeating with twice the tokens",
                data_set.name,
                concurrency,
                count,
            )
            count *= 2
        return phase

    def check_replay(self) -> None:
        """Send fresh tokens, then each again: every second send must be a 401."""
        url = f"{self.small.service.url}/oidc/token"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        target = self.small.targets[0]
        bodies = [
            self.body(target, self.small.service.url)
            for _ in range(REPLAY_CHECK_TOKENS)
        ]
        first = [
            requests.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT)
            for body in bodies
        ]
        second = [
            requests.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT)
            for body in bodies
        ]
        self.result.replay_first = [response.status_code for response in first]
        self.result.replay_second = [
            (response.status_code, response.json().get("reason")) for response in second
        ]

    def finish(self) -> None:
        from bench import queries

        self.result.jwks_fetches_total = self.jwks_fetches()
        self.result.worker_boots_total = self.worker_boots()
        self.result.issuer_requests = list(self.issuer.requests)
        for data_set in self.data_sets:
            with queries.using_database(data_set.database):
                self.result.duplicate_jtis += queries.duplicate_accepted_jtis()
            self.result.log_problems += data_set.service.log_problems()
            self.result.data_sets.append(data_set.result)
        self.result.finished_at = datetime.now(UTC)
        self.result.load_average_end = os.getloadavg()

    # Helpers

    def body(self, target: Target, audience: str) -> str:
        token = mint(self.issuer, self.key, target, audience)
        return exchange_body(token, target.agent_id)

    def jwks_fetches(self) -> int:
        return sum(1 for path in self.issuer.requests if path == JWKS_PATH)

    def worker_boots(self) -> int:
        return sum(
            data_set.service.worker_boots()
            for data_set in self.data_sets
            if data_set.service.process is not None
        )


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    started = time.monotonic()
    benchmark = Benchmark(options)
    try:
        benchmark.start()
        result = benchmark.run()
    finally:
        benchmark.stop()
    result.wall_seconds = time.monotonic() - started
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report.render(result))
    logger.info("wrote %s in %.0f s", options.output, result.wall_seconds)
    for line in report.summary_lines(result):
        logger.info("%s", line)
