"""The two data sets of the benchmark.

The small set is one tenant with ten agents, each with one trust policy. The
large set adds 1,000 tenants of 100 agents each, one trust policy per agent
(100,000), and 1,000,000 exchange records spread evenly over the tenants and
the last 30 days, with a replay entry for each accepted one. The large set is
written with ``INSERT ... SELECT generate_series``, with foreign key triggers
off and indexes built after the load. That took about a minute in trial runs
on 2 cores, where row-by-row ORM inserts would take far longer.

Ids are derived from the row number (``md5('bench-agent-' || i)::uuid``), so
that Python can name the agents and repositories that tokens are minted for.
"""

import hashlib
import logging
import time
import uuid
from contextlib import contextmanager

from django.db import connection, models

from agents.models import Agent, Tenant
from bench.tokens import Target
from oidc_exchange.models import ExchangeRecord, UsedToken
from policies.models import TrustPolicy

logger = logging.getLogger(__name__)

SMALL_POLICIES = 10
LARGE_TENANTS = 1_000
LARGE_AGENTS_PER_TENANT = 100
LARGE_RECORDS = 1_000_000
RECORD_SPAN = 30 * 24 * 3600  # s over which the exchange records are spread
DENIED_EVERY = 20  # one record in 20 is a denial, the rest accepted
# GitHub's repository and owner ids are numbers. Separate ranges keep the
# benchmark's repository ids and owner ids from overlapping.
REPOSITORY_ID_BASE = 1_000_000_000
OWNER_ID_BASE = 2_000_000_000


def derived_uuid(kind: str, number: int) -> str:
    """Return the uuid that the SQL ``md5('bench-<kind>-' || number)::uuid`` makes."""
    digest = hashlib.md5(f"bench-{kind}-{number}".encode(), usedforsecurity=False)
    return str(uuid.UUID(digest.hexdigest()))


def sql_uuid(kind: str, number_sql: str) -> str:
    return f"md5('bench-{kind}-' || ({number_sql}))::uuid"


def seed_small() -> list[Target]:
    """Create the small set and return one target per trust policy."""
    tenant = Tenant.objects.create(slug="bench-small", name="Bench small")
    agents = Agent.objects.bulk_create(
        Agent(tenant=tenant, name=f"agent-{number}")
        for number in range(1, SMALL_POLICIES + 1)
    )
    targets = []
    policies = []
    for number, agent in enumerate(agents, start=1):
        target = Target(
            agent_id=str(agent.pk),
            repository=f"bench-small/repo-{number}",
            repository_id=str(REPOSITORY_ID_BASE - number),
            repository_owner_id=str(OWNER_ID_BASE),
        )
        targets.append(target)
        policies.append(
            TrustPolicy(
                tenant=tenant,
                agent=agent,
                repository=target.repository,
                branch="main",
                repository_id=target.repository_id,
                repository_owner_id=target.repository_owner_id,
            )
        )
    TrustPolicy.objects.bulk_create(policies)
    logger.info("seeded small set policies=%s", len(policies))
    return targets


def large_targets() -> list[Target]:
    """Return one agent of each large-set tenant, at a different place in each."""
    targets = []
    for tenant in range(1, LARGE_TENANTS + 1):
        agent = (tenant - 1) * LARGE_AGENTS_PER_TENANT + (tenant * 37) % 100 + 1
        targets.append(
            Target(
                agent_id=derived_uuid("agent", agent),
                repository=f"bench-org-{tenant}/repo-{agent}",
                repository_id=str(REPOSITORY_ID_BASE + agent),
                repository_owner_id=str(OWNER_ID_BASE + tenant),
            )
        )
    return targets


def insert_select(
    model: type[models.Model],
    row_count: int,
    expressions: dict[str, str],
    where: str = "true",
) -> None:
    """Insert rows with ``INSERT ... SELECT ... generate_series(1, row_count)``.

    ``expressions`` maps field names to SQL over the row number ``i``, and
    rows are inserted only where the SQL condition ``where`` holds. Every
    other column gets its model default, so that a field added later with a
    default needs no change here. A column with neither raises SystemExit.
    """
    columns = []
    values = []
    params = []
    for model_field in model._meta.concrete_fields:
        if model_field.name in expressions:
            values.append(expressions[model_field.name])
        elif model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        elif getattr(model_field, "auto_now", False):
            values.append("now()")
        elif model_field.has_default():
            values.append("%s")
            params.append(
                model_field.get_db_prep_save(model_field.get_default(), connection)
            )
        elif model_field.null:
            values.append("NULL")
        else:
            raise SystemExit(
                f"The large data set has no value for {model.__name__}."
                f"{model_field.name}. Add an expression for it in bench/seed.py."
            )
        columns.append(connection.ops.quote_name(model_field.column))
    table = connection.ops.quote_name(model._meta.db_table)
    # Identifiers come from model metadata and expressions from this module,
    # and the only parameters are model defaults.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} "
        f"FROM generate_series(1, {int(row_count)}) AS s(i) WHERE {where}"
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    logger.info(
        "seeded table=%s rows=%s seconds=%.1f",
        model._meta.db_table,
        row_count,
        time.monotonic() - started,
    )


LARGE_MODELS = (Tenant, Agent, TrustPolicy, ExchangeRecord, UsedToken)


@contextmanager
def indexes_rebuilt(models_to_load: tuple[type[models.Model], ...]):
    """Drop secondary indexes and unique constraints, then create them again.

    Building an index once over loaded rows is several times faster than
    updating it row by row. Primary keys stay. Foreign key triggers are off
    meanwhile, since the loaded rows are consistent by construction.
    """
    saved = []
    with connection.cursor() as cursor:
        for model in models_to_load:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            quoted = connection.ops.quote_name(table)
            for name, _definition in constraints:
                cursor.execute(
                    f"ALTER TABLE {quoted} DROP CONSTRAINT "
                    f"{connection.ops.quote_name(name)}"
                )
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
            saved.append((quoted, constraints, indexes))
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for quoted, constraints, indexes in saved:
                for name, definition in constraints:
                    cursor.execute(
                        f"ALTER TABLE {quoted} ADD CONSTRAINT "
                        f"{connection.ops.quote_name(name)} {definition}"
                    )
                for _name, definition in indexes:
                    cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")
        logger.info("rebuilt indexes seconds=%.1f", time.monotonic() - started)


def seed_large(issuer_url: str) -> list[Target]:
    """Add the large set and return the agents that tokens are minted for."""
    agents = LARGE_TENANTS * LARGE_AGENTS_PER_TENANT
    per_tenant = LARGE_AGENTS_PER_TENANT
    with indexes_rebuilt(LARGE_MODELS):
        insert_select(
            Tenant,
            LARGE_TENANTS,
            {
                "id": sql_uuid("tenant", "i"),
                "slug": "'bench-tenant-' || i",
                "name": "'Bench tenant ' || i",
                "created_at": "now()",
            },
        )
        tenant_of_agent = f"((i - 1) / {per_tenant} + 1)"
        insert_select(
            Agent,
            agents,
            {
                "id": sql_uuid("agent", "i"),
                "tenant": sql_uuid("tenant", tenant_of_agent),
                "name": "'agent-' || i",
                "created_at": "now()",
            },
        )
        insert_select(
            TrustPolicy,
            agents,
            {
                "id": sql_uuid("policy", "i"),
                "tenant": sql_uuid("tenant", tenant_of_agent),
                "agent": sql_uuid("agent", "i"),
                "repository": f"'bench-org-' || {tenant_of_agent} || '/repo-' || i",
                "branch": "'main'",
                "repository_id": f"({REPOSITORY_ID_BASE} + i)::text",
                "repository_owner_id": f"({OWNER_ID_BASE} + {tenant_of_agent})::text",
                "created_at": "now()",
            },
        )
        _seed_records(issuer_url, agents)
    started = time.monotonic()
    with connection.cursor() as cursor:
        for model in LARGE_MODELS:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"VACUUM ANALYZE {table}")
    logger.info("vacuumed large set seconds=%.1f", time.monotonic() - started)
    return large_targets()


def _seed_records(issuer_url: str, agents: int) -> None:
    per_tenant = LARGE_AGENTS_PER_TENANT
    agent = f"(mod(i - 1, {agents}) + 1)"
    tenant = f"(({agent} - 1) / {per_tenant} + 1)"
    repository = f"'bench-org-' || {tenant} || '/repo-' || {agent}"
    accepted = f"mod(i, {DENIED_EVERY}) <> 0"
    created_at = f"now() - make_interval(secs => i * {RECORD_SPAN / LARGE_RECORDS})"
    checks = (
        "jsonb_build_array(jsonb_build_object("
        f"'policy', {sql_uuid('policy', agent)}::text, "
        "'checks', jsonb_build_object("
        "'policy_enabled', true, 'provider', true, 'repository', true, "
        "'repository_id', true, 'repository_owner_id', true, "
        f"'branch', {accepted})))"
    )
    issuer = _sql_string(issuer_url)
    insert_select(
        ExchangeRecord,
        LARGE_RECORDS,
        {
            "created_at": created_at,
            "endpoint": "'token'",
            "outcome": f"CASE WHEN {accepted} THEN 'accepted' ELSE 'denied' END",
            "status_code": f"CASE WHEN {accepted} THEN 200 ELSE 403 END",
            "reason": f"CASE WHEN {accepted} THEN 'accepted' ELSE 'access_denied' END",
            "detail_reason": f"CASE WHEN {accepted} THEN '' ELSE 'branch_mismatch' END",
            "checks": checks,
            "tenant": sql_uuid("tenant", tenant),
            "agent": sql_uuid("agent", agent),
            "policy": f"CASE WHEN {accepted} THEN {sql_uuid('policy', agent)} END",
            "requested_agent_id": f"{sql_uuid('agent', agent)}::text",
            "issuer": issuer,
            "subject": f"'repo:' || {repository} || ':ref:refs/heads/main'",
            "repository": repository,
            "repository_id": f"({REPOSITORY_ID_BASE} + {agent})::text",
            "ref": f"CASE WHEN {accepted} THEN 'refs/heads/main' "
            "ELSE 'refs/heads/feature' END",
            "sha": "md5('bench-sha-' || i) || left(md5('bench-sha2-' || i), 8)",
            "event_name": "'push'",
            "run_id": "(3000000000 + i)::text",
            "github_jti": f"{sql_uuid('jti', 'i')}::text",
            "client_address": "'127.0.0.1'::inet",
            "user_agent": "'sentryagent-issue-token'",
            "issued_jti": f"CASE WHEN {accepted} THEN "
            f"{sql_uuid('issued', 'i')}::text ELSE '' END",
            "issued_expires_at": f"CASE WHEN {accepted} THEN "
            f"{created_at} + interval '900 seconds' END",
        },
    )
    # Replay entries of the accepted records, as if none had been purged.
    insert_select(
        UsedToken,
        LARGE_RECORDS,
        where=accepted,
        expressions={
            "issuer": issuer,
            "jti": f"{sql_uuid('jti', 'i')}::text",
            "expires_at": f"{created_at} + interval '300 seconds'",
            "created_at": created_at,
        },
    )


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def record_counts() -> dict[str, int]:
    """Return the row count of each table the exchange reads or writes."""
    return {model._meta.db_table: model.objects.count() for model in LARGE_MODELS}
