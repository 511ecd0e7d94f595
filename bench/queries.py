"""The SQL of one exchange, its plans, and PostgreSQL's counters over a phase.

The queries are captured in this process with Django's test client and
``CaptureQueriesContext``, against the database of the service under load and
with its settings, except for the audience, which is this process's own. The
counters come from ``pg_stat_database`` and cover every process, so their
difference over a phase shows the connections and transactions per request of
the service itself.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapturedExchange:
    """The status of one in-process exchange and the SQL it ran, in order."""

    status_code: int
    statements: list[str]


@dataclass(frozen=True)
class DatabaseCounters:
    """Cumulative counters of the benchmark's database."""

    sessions: int
    commits: int
    rollbacks: int

    def __sub__(self, other: "DatabaseCounters") -> "DatabaseCounters":
        return DatabaseCounters(
            self.sessions - other.sessions,
            self.commits - other.commits,
            self.rollbacks - other.rollbacks,
        )

    def __add__(self, other: "DatabaseCounters") -> "DatabaseCounters":
        return DatabaseCounters(
            self.sessions + other.sessions,
            self.commits + other.commits,
            self.rollbacks + other.rollbacks,
        )


def capture_exchange(body: str, host: str) -> CapturedExchange:
    """POST one form-encoded body to /oidc/token in process; return its SQL."""
    client = Client(HTTP_HOST=host)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/oidc/token", data=body, content_type="application/x-www-form-urlencoded"
        )
    return CapturedExchange(
        response.status_code, [query["sql"] for query in captured.captured_queries]
    )


def explain(statement: str) -> list[str]:
    """Return the executed plan of a captured SELECT or UPDATE, rolled back."""
    lines: list[str] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The statement is one the exchange itself ran, captured verbatim.
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement)
            lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    return lines


def database_counters(database: str) -> DatabaseCounters:
    """Return the cumulative counters of a database of the cluster."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = %s",
            [database],
        )
        sessions, commits, rollbacks = cursor.fetchone()
    return DatabaseCounters(sessions, commits, rollbacks)


@contextmanager
def using_database(database: str):
    """Point this process's default connection at another database meanwhile.

    Django reads the connection's settings when it connects, so closing the
    connection and changing its database name is enough.
    """
    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = database
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


def duplicate_accepted_jtis() -> int:
    """Return how many GitHub jtis have more than one accepted exchange record."""
    from oidc_exchange.models import ExchangeRecord

    table = connection.ops.quote_name(ExchangeRecord._meta.db_table)
    sql = (
        f"SELECT count(*) FROM (SELECT github_jti FROM {table} "  # noqa: S608
        "WHERE outcome = 'accepted' GROUP BY issuer, github_jti "
        "HAVING count(*) > 1) AS duplicates"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]
