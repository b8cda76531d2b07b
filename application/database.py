"""PostgreSQL connection settings: one URL in, what the eventsourcing recorder needs out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SCHEMA_LOCK = 7_204_112  # advisory lock key held while tables and functions are created


@contextmanager
def schema_lock(datastore: PostgresDatastore) -> Iterator[None]:
    """Hold the schema lock: processes starting together create tables one at a time.

    ``CREATE ... IF NOT EXISTS`` and ``CREATE OR REPLACE FUNCTION`` fail ("tuple concurrently
    updated") when two sessions run them at once, as an API and a worker starting together do.
    """
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def eventsourcing_env(database_url: str, pool_size: int) -> dict[str, str]:
    """The ``POSTGRES_*`` settings of the eventsourcing PostgreSQL recorder for a URL."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "ticketing"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "n",
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "application.recorder:TicketingRecorder",
    }


def ensure_database(database_url: str) -> None:
    """Create the database the URL names if the server does not have it yet."""
    params = conninfo_to_dict(database_url)
    dbname = str(params.get("dbname") or "ticketing")
    maintenance = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(database_url: str) -> None:
    """Drop the database the URL names, closing its other sessions (tests, benchmarks)."""
    params = conninfo_to_dict(database_url)
    dbname = str(params.get("dbname"))
    maintenance = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
