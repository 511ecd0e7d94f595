"""The Markdown page of a benchmark run, with its targets met or missed."""

from dataclasses import dataclass

from bench.load import PhaseResult
from bench.results import DataSetResult, RunResult

TARGET_CONCURRENCY = 16
# Targets of the exchange, each as a ratio.
MIN_EXCHANGE_OVER_AUDIENCE = 0.5
MAX_P99_OVER_P50 = 3.0
MIN_LARGE_OVER_SMALL = 0.9
# SQL longer than this is cut in the page.
STATEMENT_WIDTH = 160
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

WORKER_CLASS_REASON = (
    "`sync` is the worker class of the project's `gunicorn.conf.py`, so the "
    "benchmark measures what production runs. In trial runs of the exchange "
    "at 16 clients on this machine, `gthread` with 4 threads was not "
    "consistently faster: it ranged from 12 % slower to twice as fast as the "
    "load of other programs changed. It used about the same CPU per request "
    "and had a wider spread of latency. `python -m bench --worker-class "
    "gthread --threads 4` repeats the comparison."
)


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool
    # What this run measured that explains the result.
    because: str = ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def sql_statement_count(captured) -> int:
    """Return the captured statements that are not transaction control."""
    return sum(
        1
        for statement in captured.statements
        if not statement.startswith(TRANSACTION_CONTROL)
    )


# Targets


def targets(result: RunResult) -> list[Target]:
    """Evaluate the targets of the exchange on every data set measured."""
    found = []
    audience = result.audience_at(TARGET_CONCURRENCY)
    for data_set in result.data_sets:
        exchange = data_set.exchange_at(TARGET_CONCURRENCY)
        if exchange is None or audience is None:
            continue
        ratio = _ratio(exchange.throughput, audience.throughput)
        exchange_cpu = exchange.cpu_ms_per_request(
            "service"
        ) + exchange.cpu_ms_per_request("postgres")
        found.append(
            Target(
                f"{data_set.name} set: exchange throughput at {TARGET_CONCURRENCY} "
                f"clients at least {MIN_EXCHANGE_OVER_AUDIENCE} times "
                "GET /oidc/audience's",
                f"{exchange.throughput:,.0f} / {audience.throughput:,.0f} = "
                f"{ratio:.2f}",
                ratio >= MIN_EXCHANGE_OVER_AUDIENCE,
                f"an exchange costs {exchange_cpu:.1f} ms of CPU in gunicorn and "
                "PostgreSQL, the audience view "
                f"{audience.cpu_ms_per_request('service'):.1f} ms",
            )
        )
        restarts = (
            f"{_count(exchange.worker_boots, 'worker restart')} during the phase"
            if exchange.worker_boots
            else "no worker restart during the phase"
        )
        found.append(
            Target(
                f"{data_set.name} set: exchange p99 at most "
                f"{MAX_P99_OVER_P50:g} times p50 at {TARGET_CONCURRENCY} clients",
                f"{exchange.p99_ms:.0f} ms / {exchange.p50_ms:.0f} ms = "
                f"{exchange.p99_over_p50:.2f}",
                exchange.p99_over_p50 <= MAX_P99_OVER_P50,
                restarts,
            )
        )
    large_over_small = _large_over_small(result, TARGET_CONCURRENCY)
    if large_over_small is not None:
        large, small, ratio = large_over_small
        cpu = [
            data_set.exchange_at(TARGET_CONCURRENCY).cpu_ms_per_request("service")
            + data_set.exchange_at(TARGET_CONCURRENCY).cpu_ms_per_request("postgres")
            for data_set in result.data_sets[:2]
        ]
        found.append(
            Target(
                "large-set exchange throughput at least "
                f"{MIN_LARGE_OVER_SMALL} times the small set's, at "
                f"{TARGET_CONCURRENCY} clients",
                f"{large:,.0f} / {small:,.0f} = {ratio:.2f}",
                ratio >= MIN_LARGE_OVER_SMALL,
                f"CPU per exchange {cpu[1]:.1f} ms on the large set, "
                f"{cpu[0]:.1f} ms on the small; {_scan_summary(result)}",
            )
        )
    boots_after = result.worker_boots_total - result.worker_boots_at_warm_up
    if result.jwks_fetches_after_warm_up:
        fetch_cause = (
            f"the services fetched again while gunicorn restarted "
            f"{_count(boots_after, 'worker')} after `max_requests`"
        )
    else:
        fetch_cause = (
            "the workers share the keys cached in Redis, including the "
            f"{_count(boots_after, 'worker')} gunicorn started after `max_requests`"
        )
    found.append(
        Target(
            "zero JWKS fetches after warm-up",
            f"{result.jwks_fetches_after_warm_up}",
            result.jwks_fetches_after_warm_up == 0,
            fetch_cause,
        )
    )
    unexpected = _unexpected_errors(result)
    found.append(
        Target(
            "no errors except the ones provoked on purpose",
            f"{unexpected} unexpected; the replay check's "
            f"{len(result.replay_second)} 401s are provoked",
            unexpected == 0,
        )
    )
    return found


def _scan_summary(result: RunResult) -> str:
    """Say whether any captured query of the large set scans a whole table."""
    large = result.data_sets[1]
    sequential = [
        statement
        for statement, plan in large.plans
        if any("Seq Scan" in line for line in plan)
    ]
    if sequential:
        return f"{len(sequential)} of its queries scan a whole table"
    return "every SELECT and UPDATE of the exchange finds its rows through an index"


def _large_over_small(
    result: RunResult, concurrency: int
) -> tuple[float, float, float] | None:
    if len(result.data_sets) < 2:
        return None
    small = result.data_sets[0].exchange_at(concurrency)
    large = result.data_sets[1].exchange_at(concurrency)
    if small is None or large is None:
        return None
    return (
        large.throughput,
        small.throughput,
        _ratio(large.throughput, small.throughput),
    )


def _unexpected_errors(result: RunResult) -> int:
    phases = result.audience + [
        phase for data_set in result.data_sets for phase in data_set.exchange
    ]
    errors = sum(phase.errors for phase in phases)
    errors += sum(warm_up.errors for warm_up in result.warm_ups.values())
    errors += sum(1 for status in result.replay_first if status != 200)
    errors += sum(
        1
        for status, reason in result.replay_second
        if (status, reason) != (401, "token_replayed")
    )
    return errors + result.duplicate_jtis


# Sections


def _phase_row(label: str, phase: PhaseResult, reference: PhaseResult | None) -> str:
    ratio = f"{_ratio(phase.throughput, reference.throughput):.2f}" if reference else ""
    others = f"{phase.cpu.others_share:.0%}" if phase.cpu else ""
    rounds = ", ".join(f"{throughput:,.0f}" for throughput in phase.rounds)
    return (
        f"| {phase.concurrency} | {label} | {phase.throughput:,.0f} | {rounds} | "
        f"{phase.p50_ms:.2f} | {phase.p90_ms:.2f} | {phase.p99_ms:.2f} | "
        f"{phase.max_ms:.0f} | {phase.p99_over_p50:.2f} | {phase.errors} | "
        f"{phase.cpu_ms_per_request('service'):.2f} | "
        f"{phase.cpu_ms_per_request('postgres'):.2f} | {others} | "
        f"{phase.worker_boots} | {ratio} |"
    )


def _statuses(phase: PhaseResult) -> str:
    statuses = ", ".join(
        f"HTTP {status}: {count:,}" for status, count in sorted(phase.statuses.items())
    )
    socket_errors = sum(phase.socket_errors.values())
    text = f"{statuses}, {socket_errors} socket errors and timeouts"
    if phase.notes:
        text += "; " + "; ".join(phase.notes)
    return text


def _data_set_section(data_set: DataSetResult, result: RunResult) -> list[str]:
    counts = ", ".join(
        f"{table} {rows:,}" for table, rows in data_set.row_counts.items()
    )
    lines = [
        f"### {data_set.name.capitalize()} data set",
        "",
        f"Rows: {counts}. The tokens are spread over {data_set.targets:,} agents, "
        "each with its own trust policy and repository.",
    ]
    if data_set.seed_seconds is not None:
        lines[-1] += (
            f" Seeding, index builds and `VACUUM ANALYZE` took "
            f"{data_set.seed_seconds:.0f} s."
        )
    lines += [
        "",
        "| clients | endpoint | requests/s | rounds | p50 ms | p90 ms | p99 ms | "
        "max ms | p99/p50 | errors | service CPU ms/request | "
        "PostgreSQL CPU ms/request | other programs' CPU | worker restarts | "
        "exchange/audience |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in result.concurrencies:
        audience = result.audience_at(concurrency)
        exchange = data_set.exchange_at(concurrency)
        if audience:
            lines.append(_phase_row("GET /oidc/audience", audience, None))
        if exchange:
            lines.append(_phase_row("POST /oidc/token", exchange, audience))
    lines += ["", "Responses:", ""]
    for phase in data_set.exchange:
        lines.append(f"- exchange at {phase.concurrency}: {_statuses(phase)}")
    lines.append("")
    return lines


def _results_section(result: RunResult) -> list[str]:
    lines = [
        "## Results",
        "",
        "Each row combines two rounds of the same phase, run in mirrored order "
        "(audience, small, large, then large, small, audience) at each "
        "concurrency. Throughput is completed responses per second over both "
        "rounds, and `rounds` gives each round's. Latencies are wrk's, per "
        "request, in milliseconds, as the mean of the two rounds' percentiles. "
        "Errors are non-200 responses plus socket errors and timeouts. CPU per "
        "request is the CPU time of gunicorn's processes and of PostgreSQL's "
        "over the phase, divided by the responses. Other programs' CPU is the "
        "part of the machine's CPU time that none of this run's programs used "
        "during the phase. Worker restarts counts the workers gunicorn started "
        "during the phase to replace ones recycled after `max_requests`. A new "
        "worker loads the application before it serves, so the other worker "
        "serves alone meanwhile, and it fetches the issuer's keys on its first "
        "exchange. The audience rows are the same in both tables: they are "
        "measured once per round, on the small set's service, and the view reads "
        "no table.",
        "",
    ]
    audience_lines = [
        f"- audience at {phase.concurrency}: {_statuses(phase)}"
        for phase in result.audience
    ]
    for data_set in result.data_sets:
        lines += _data_set_section(data_set, result)
    lines += ["Audience view responses:", "", *audience_lines, ""]
    return lines


def _ratios_section(result: RunResult) -> list[str]:
    crypto = result.crypto
    before, after = result.crypto_before, result.crypto_after
    lines = [
        "## Floors and ratios",
        "",
        "The cryptography floor is a python-jose RS256 verify of a GitHub-shaped "
        "token plus an RS256 sign of access token claims, with key objects built "
        "once, as the service does, in the benchmark process while the services "
        "are idle. It was measured before and after the load phases. Other "
        "programs on the machine only slow it down, so the ratios use the faster "
        "of the two measurements.",
        "",
        "| verify + sign per second | before | after | used |",
        "|---|---:|---:|---:|",
        f"| one process | {before.single_process:,.0f} | "
        f"{after.single_process:,.0f} | {crypto.single_process:,.0f} |",
        f"| {crypto.processes} processes at once | {before.all_cores:,.0f} | "
        f"{after.all_cores:,.0f} | {crypto.all_cores:,.0f} |",
        f"| the same per core | {before.per_core:,.0f} | {after.per_core:,.0f} | "
        f"{crypto.per_core:,.0f} |",
        "",
        f"The service has {result.workers} workers on {crypto.processes} cores, so "
        "the all-cores floor is the throughput the exchange would reach if it did "
        "nothing but its cryptography. The crypto share is the part of the "
        "service's CPU time per exchange that verify + sign takes in one process.",
        "",
        "| data set | clients | exchange/s | ÷ audience | ÷ crypto, all cores | "
        "crypto share of service CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    crypto_ms = 1000 / crypto.single_process
    for data_set in result.data_sets:
        for phase in data_set.exchange:
            audience = result.audience_at(phase.concurrency)
            service_ms = phase.cpu_ms_per_request("service")
            lines.append(
                f"| {data_set.name} | {phase.concurrency} | {phase.throughput:,.0f} "
                f"| {_ratio(phase.throughput, audience.throughput):.2f} | "
                f"{_ratio(phase.throughput, crypto.all_cores):.2f} | "
                f"{_ratio(crypto_ms, service_ms):.0%} |"
            )
    ratios = []
    for concurrency in result.concurrencies:
        found = _large_over_small(result, concurrency)
        if found:
            ratios.append(f"{concurrency} clients {found[2]:.2f}")
    if ratios:
        lines += ["", f"Large set over small set: {', '.join(ratios)}."]
    lines.append("")
    return lines


def _analysis_section(result: RunResult) -> list[str]:
    """Explain the throughput and latency targets with this run's own numbers."""
    small = result.data_sets[0]
    exchange = small.exchange_at(TARGET_CONCURRENCY)
    audience = result.audience_at(TARGET_CONCURRENCY)
    if exchange is None or audience is None or exchange.cpu is None:
        return []
    crypto_ms = 1000 / result.crypto.single_process
    service_ms = exchange.cpu_ms_per_request("service")
    postgres_ms = exchange.cpu_ms_per_request("postgres")
    audience_ms = audience.cpu_ms_per_request("service")
    cpu_ratio = _ratio(audience_ms, service_ms + postgres_ms)
    ceiling = _ratio(audience_ms, audience_ms + crypto_ms)
    budget_ms = _ratio(audience_ms, MIN_EXCHANGE_OVER_AUDIENCE)

    lines = [
        "## Where the exchange's time goes",
        "",
        f"At {TARGET_CONCURRENCY} clients on the small set, both endpoints keep "
        "the cores busy, so their throughput ratio follows their CPU cost per "
        f"request. The audience view costs {audience_ms:.2f} ms of service CPU. "
        f"The exchange costs {service_ms:.2f} ms in gunicorn plus "
        f"{postgres_ms:.2f} ms in PostgreSQL. The ratio of those costs, "
        f"{cpu_ratio:.2f}, is close to the measured throughput ratio of "
        f"{_ratio(exchange.throughput, audience.throughput):.2f}.",
        "",
        f"- Cryptography: {crypto_ms:.2f} ms per verify + sign in one process. "
        f"To meet the target, an exchange may cost at most {budget_ms:.2f} ms "
        "of CPU in all, the audience view's framework work and the cryptography "
        f"included. An exchange that did only those two would reach "
        f"{ceiling:.2f} times the audience view's throughput.",
        f"- The rest of the service's {service_ms:.2f} ms, about "
        f"{max(0.0, service_ms - audience_ms - crypto_ms):.2f} ms, is the "
        "exchange's own Python beyond the audience view: reading the token and "
        "its claims, and building and running its SQL through the ORM and "
        "psycopg.",
    ]

    if exchange.database is not None and exchange.requests and small.captured:
        sessions = exchange.database.sessions / exchange.requests
        commits = exchange.database.commits / exchange.requests
        lines.append(
            f"- PostgreSQL: {sql_statement_count(small.captured)} statements per "
            f"exchange, {commits:.1f} transactions and {sessions:.2f} new "
            "connections per request. Workers keep their connections open "
            "(`CONN_MAX_AGE`, 60 s by default), so few requests make PostgreSQL "
            "start a backend process; statements that run outside a transaction "
            "block commit one by one."
        )

    spreads = ", ".join(
        f"{data_set.name} set {phase.p99_over_p50:.2f} with "
        f"{_count(phase.worker_boots, 'worker restart')}"
        for data_set in result.data_sets
        if (phase := data_set.exchange_at(TARGET_CONCURRENCY))
    )
    lines += [
        f"- Latency: at {TARGET_CONCURRENCY} clients, requests queue for the "
        f"service's {result.workers * result.threads} request slots (workers "
        "times threads), so most of p50 is waiting in that queue. p99/p50: "
        f"{spreads}. While a restarted worker loads the application, the "
        "service has one worker fewer, so the requests queued meanwhile wait "
        "longer.",
        "",
    ]
    return lines


def _database_section(result: RunResult) -> list[str]:
    lines = [
        "## What one exchange asks of PostgreSQL",
        "",
        "The SQL of one exchange, captured in the benchmark process with "
        "`CaptureQueriesContext` (Django's test client, the same settings and "
        "database), on each data set:",
        "",
    ]
    for data_set in result.data_sets:
        captured = data_set.captured
        lines.append(
            f"- {data_set.name} set: {sql_statement_count(captured)} statements "
            f"besides transaction control, HTTP {captured.status_code}:"
        )
        for statement in captured.statements:
            if len(statement) > STATEMENT_WIDTH:
                statement = statement[:STATEMENT_WIDTH] + " …"
            lines.append(f"  - `{statement}`")
    lines += [
        "",
        "Counters of `pg_stat_database` over each exchange phase, per response "
        "(the benchmark's own few queries are included):",
        "",
        "| data set | clients | new connections per request | "
        "transactions per request |",
        "|---|---:|---:|---:|",
    ]
    for data_set in result.data_sets:
        for phase in data_set.exchange:
            if phase.database is None or not phase.requests:
                continue
            lines.append(
                f"| {data_set.name} | {phase.concurrency} | "
                f"{phase.database.sessions / phase.requests:.2f} | "
                f"{phase.database.commits / phase.requests:.2f} |"
            )
    lines.append("")
    large = next((d for d in result.data_sets if d.name == "large"), None)
    if large and large.plans:
        lines += [
            "Plans of those SELECT and UPDATE statements on the large data set "
            "(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`, the UPDATE rolled back):",
            "",
            "```",
        ]
        for number, (statement, plan) in enumerate(large.plans):
            if number:
                lines.append("")
            lines.append(statement[:STATEMENT_WIDTH])
            lines += [f"  {line}" for line in plan]
        lines += ["```", ""]
    return lines


def _checks_section(result: RunResult) -> list[str]:
    fetches = sum(1 for path in result.issuer_requests if path.endswith("/jwks"))
    replay_ok = sum(
        1 for pair in result.replay_second if pair == (401, "token_replayed")
    )
    first_ok = sum(1 for status in result.replay_first if status == 200)
    expected_log = [line for line in result.log_problems if "token_replayed" in line]
    other_log = [line for line in result.log_problems if line not in expected_log]
    service_warm_up = result.jwks_fetches_at_warm_up - result.jwks_fetches_in_process
    boots_after = result.worker_boots_total - result.worker_boots_at_warm_up
    warm_ups = "; ".join(
        f"{name} set {warm_up.requests:,} exchanges, {warm_up.errors} errors"
        for name, warm_up in result.warm_ups.items()
    )

    lines = [
        "## JWKS fetches, replay and errors",
        "",
        f"- The issuer received {len(result.issuer_requests)} requests in the "
        f"whole run, {fetches} of them JWKS fetches. "
        f"{result.jwks_fetches_in_process} came from the benchmark process, "
        "whose in-process exchanges have their own cache. "
        f"{service_warm_up} came from the services during their warm-ups: the "
        "first requests of a service fetch the keys into the Redis cache that "
        "its workers share. After the warm-ups: "
        f"{result.jwks_fetches_after_warm_up}, while gunicorn started "
        f"{boots_after} new workers (recycled after `max_requests`), which find "
        "the keys in Redis.",
        f"- Warm-ups, at 4 clients for a few seconds with a new connection per "
        f"request: {warm_ups}.",
        f"- Replay check: {len(result.replay_first)} fresh tokens were exchanged "
        f"({first_ok} returned 200), then each was sent again: {replay_ok} "
        "returned 401 `token_replayed`. These 401s are provoked on purpose.",
        f"- GitHub jtis with more than one accepted exchange record, over the "
        f"whole run: {result.duplicate_jtis}.",
        f"- Service log lines at WARNING or above: {len(result.log_problems)}, "
        f"of which {len(expected_log)} are the replay check's denials.",
    ]
    lines += [f"  - `{line[:STATEMENT_WIDTH]}`" for line in other_log[:10]]
    lines.append("")
    return lines


def _setup_lines(result: RunResult) -> list[str]:
    settings = ", ".join(
        f"`{name}={value}`" for name, value in result.gunicorn_settings.items()
    )
    return [
        "- SentryAgent under gunicorn on 127.0.0.1, once per data set, each with "
        f"{result.workers} workers (one per core), worker class "
        f"`{result.worker_class}` with {_count(result.threads, 'thread')} each. "
        "Only one "
        "service is under load at a time. "
        + WORKER_CLASS_REASON
        + " gunicorn also reads the project's `gunicorn.conf.py`, as in "
        "production, and the command line sets the address, workers, worker "
        f"class and threads. Resolved: {settings}.",
        "- PostgreSQL: a private cluster started for the run (`initdb` into a "
        "temporary directory, `pg_ctl start` on a free port of 127.0.0.1) with "
        "the server's default settings, so every commit waits for its WAL flush, "
        "and one database per data set. `DATABASE_URL` has no options, so "
        "Django keeps each connection open for the project's default "
        "`CONN_MAX_AGE` of 60 s, as in a deployment that sets only the URL.",
        "- GitHub's issuer: `devtools.local_issuer.LocalIssuer` on 127.0.0.1, in "
        "the benchmark process. Its RS256 tokens have GitHub's claims, a fresh "
        "`jti` each and a five-minute lifetime, so each phase mints its own "
        "just before it starts.",
        f"- `SENTRYAGENT_RATE_LIMIT={result.rate_limit}`, so the rate limit never "
        "rejects a request. DRF's throttle keeps one timestamp per request of "
        "its window in a list that the cache pickles on every request. A "
        "one-second window keeps that list as short as a production limit such "
        "as `600/min` does, while `1000000/min` would let it grow to a minute of "
        "requests. The cache is a private redis-server on 127.0.0.1 "
        "(`CACHE_URL`), shared by the workers of a service, as in production.",
        "- `DEBUG=false`. wrk (Debian's package) drives the load with "
        "`bench/wrk.lua`, which sends each pre-built body once. Each phase runs "
        f"{result.duration} s; wrk uses at most one thread per core and runs "
        "on the same cores as the service.",
        "- Data sets: the small set is one tenant with 10 agents and one trust "
        "policy each. The large set is 1,000 tenants with 100 agents each, one "
        "trust policy per agent, and 1,000,000 exchange records spread over the "
        "tenants and 30 days, with a replay entry for each accepted one, as if "
        "none had been purged.",
    ]


def render(result: RunResult) -> str:
    started = result.started_at.strftime("%Y-%m-%d %H:%M UTC")
    machine_rows = [f"| {name} | {value} |" for name, value in result.machine.items()]
    machine_rows.append(
        "| load average at end (1, 5, 15 min) | "
        + ", ".join(f"{value:.2f}" for value in result.load_average_end)
        + " |"
    )
    version_rows = [f"| {name} | {value} |" for name, value in result.versions.items()]
    target_rows = [
        f"| {target.name} | {target.measured} | "
        f"{'met' if target.met else 'missed'} | {target.because} |"
        for target in targets(result)
    ]

    lines = [
        "# Benchmarks",
        "",
        "Throughput and latency of the token exchange, `POST /oidc/token`, "
        "against two floors measured in the same run on the same server: the "
        "minimal DRF view `GET /oidc/audience`, which reads one setting, and the "
        "bare RS256 verify-and-sign cryptography. `make bench` writes this page; "
        "the numbers below are from its last run. Other programs share the "
        "machine's cores, so absolute numbers vary from run to run, and only "
        "ratios within one run compare.",
        "",
        f"Run: `make bench` on {started}, {result.wall_seconds / 60:.1f} minutes. "
        "`make bench` installs wrk and PostgreSQL from Debian's packages if they "
        "are missing, which needs root, and as root it runs PostgreSQL as the "
        "`postgres` user. "
        "`.venv/bin/python -m bench --help` lists the options, such as phase "
        "duration and concurrencies.",
        "",
        "## Targets",
        "",
        "| target | measured | result | measured cause |",
        "|---|---|---|---|",
        *target_rows,
        "",
        "The section on where the exchange's time goes explains the throughput "
        "ratio with this run's CPU times.",
        "",
        "## Machine and versions",
        "",
        "| | |",
        "|---|---|",
        *machine_rows,
        *version_rows,
        "",
        "## Set-up",
        "",
        *_setup_lines(result),
        "",
    ]
    lines += _results_section(result)
    lines += _ratios_section(result)
    lines += _analysis_section(result)
    lines += _database_section(result)
    lines += _checks_section(result)
    return "\n".join(lines).rstrip() + "\n"


def summary_lines(result: RunResult) -> list[str]:
    return [
        f"{'met' if target.met else 'MISSED'}: {target.name}: {target.measured}"
        for target in targets(result)
    ]
