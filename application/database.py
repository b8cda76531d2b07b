"""PostgreSQL connections: one URL in, what the eventsourcing recorder needs out, and
bounded waits on every connect, pool checkout and statement.

A database that stops answering (stopped, overloaded, its disk stalled) must not hang the API:
connects give up after ``CONNECT_TIMEOUT``, a pool checkout after ``CHECKOUT_TIMEOUT``, and
inside :func:`deadline` every statement gives up when the deadline passes. A server-side
``statement_timeout`` cannot do that last part, since a stopped server times out nothing, so the
client stops waiting and closes that connection (its state is unknown); the pool replaces it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg import sql
from psycopg._preparing import Key, Prepare, PrepareManager
from psycopg._queries import PostgresQuery
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.errors import OperationalError as PsycopgOperationalError
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

from application.attachment_index import PostgresAttachmentIndex
from application.blobs import BlobStore, PostgresBlobStore
from application.ledger import PostgresLedger
from application.numbers import PostgresTicketNumbers
from application.ports import AttachmentIndex, Ledger, TicketNumbers

SCHEMA_LOCK = 7_204_112  # advisory lock key held while tables and functions are created
CONNECT_TIMEOUT = 3  # seconds to establish a connection (libpq counts whole seconds)
AGGREGATE_CACHE_SIZE = 1000  # aggregates kept in memory per process (LRU)
CHECKOUT_TIMEOUT = 3  # seconds to wait for a free connection in a pool
RV = TypeVar("RV")
_deadline: ContextVar[float | None] = ContextVar("database_deadline", default=None)


class DeadlineExceeded(Exception):
    """The database did not answer before the caller's deadline.

    Deliberately not a ``psycopg.Error``: eventsourcing turns those into its own
    ``OperationalError`` and retries them (ten times, 0.2 s apart), which past a deadline
    only delays the answer the caller is owed now.
    """


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every database wait in this block (this thread or task) ends ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


class CheckedPreparedStatements(PrepareManager):
    """psycopg's cache of prepared statements, also checking the execution that prepares a
    statement once it has run ``prepare_threshold`` times.

    psycopg 3.3.9 checks the results of that execution only for a statement it has never seen
    (or one prepared on request). In a pipeline whose transaction failed on an earlier
    statement, the server skips the preparation, yet the statement stays recorded as prepared
    when the transaction is not rolled back through psycopg, as eventsourcing's insert did
    (it catches the error inside the transaction; the service's own insert,
    ``TicketingRecorder._insert_in_pipeline``, lets psycopg roll back since, and this check
    stays for any other path). Every later use of it on that connection then failed with
    ``prepared statement "_pg3_N" does not exist``: a submission answered 500 in the fault
    test that way. Checked here, a statement whose preparation did not run is forgotten and
    prepared again next time.
    """

    def maybe_add_to_cache(self, query: PostgresQuery, prep: Prepare, name: bytes) -> Key | None:
        """psycopg's bookkeeping; the key to check the results against for every execution
        that prepares."""
        key = super().maybe_add_to_cache(query, prep, name)
        if key is None and prep is Prepare.SHOULD:
            return self.key(query)
        return key


class DeadlineConnection(psycopg.Connection[DictRow]):
    """A connection whose every wait for the server ends at the caller's deadline, and whose
    prepared statements are all checked (:class:`CheckedPreparedStatements`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepared = CheckedPreparedStatements()

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        """Consume ``gen`` as psycopg does, giving up when the deadline passes."""
        left = remaining()
        if left is None:
            return super().wait(gen, interval, timeout)
        try:
            if left <= 0:
                raise DeadlineExceeded("no time was left for the database")
            return super().wait(gen, interval, left if timeout is None else min(timeout, left))
        except PsycopgOperationalError:
            left = remaining()
            if left is None or left > 0:
                raise
            # the exchange with the server stopped halfway: this connection is unusable
            self.pgconn.finish()
            raise DeadlineExceeded("the database did not answer in time") from None


class TicketingPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with bounded connects, checkouts and statements."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        pool.connection_class = DeadlineConnection
        assert isinstance(pool.kwargs, dict)  # eventsourcing passes a dict
        pool.kwargs = {**pool.kwargs, "connect_timeout": CONNECT_TIMEOUT}
        # eventsourcing checks connections out with the pool's fixed timeout; within a
        # deadline, waiting for a free connection must end with it too
        checkout = pool.getconn

        def getconn(timeout: float | None = None) -> psycopg.Connection[DictRow]:
            left = remaining()
            if left is None:
                return checkout(timeout)
            if left <= 0:
                raise DeadlineExceeded("no time was left to wait for a database connection")
            try:
                return checkout(min(timeout or pool.timeout, left))
            except PoolTimeout:
                if (remaining() or 0) > 0:
                    raise
                raise DeadlineExceeded("no database connection was free in time") from None

        pool.getconn = getconn  # type: ignore[method-assign]

    def ledger(self) -> Ledger:
        """The recorder's tables, read with this factory's connection pool."""
        return PostgresLedger(self.datastore)

    def ticket_numbers(self) -> TicketNumbers:
        """Numbers from a PostgreSQL sequence."""
        return PostgresTicketNumbers(self.datastore)

    def attachment_index(self) -> AttachmentIndex:
        """Uploads in the ``attachments`` table."""
        return PostgresAttachmentIndex(self.datastore)

    def blob_store(self) -> BlobStore:
        """Attachment bytes in the ``attachment_blobs`` table."""
        return PostgresBlobStore(self.datastore)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT 1")


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


def eventsourcing_env(
    database_url: str, pool_size: int, cache_size: int = AGGREGATE_CACHE_SIZE
) -> dict[str, str]:
    """The ``POSTGRES_*`` settings of the eventsourcing PostgreSQL recorder for a URL, and the
    size of the in-process aggregate cache (aggregates, not bytes: it bounds the memory)."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": f"{__name__}:{TicketingPostgresFactory.__name__}",
        "POSTGRES_DBNAME": str(params.get("dbname") or "ticketing"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        # eventsourcing passes this on as the pool's checkout timeout
        "POSTGRES_CONNECT_TIMEOUT": str(CHECKOUT_TIMEOUT),
        "POSTGRES_PRE_PING": "n",
        "AGGREGATE_CACHE_MAXSIZE": str(cache_size),
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
