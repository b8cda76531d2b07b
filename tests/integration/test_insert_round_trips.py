"""A command's events and what commits with them reach PostgreSQL in one round trip.

eventsourcing's insert opened its transaction with psycopg's ``conn.transaction()`` inside a
pipeline, and psycopg syncs the pipeline to start a transaction there, to end it and to end
the pipeline: five round trips per command, each a wait for the server and a wake-up on both
sides, three of them for ``BEGIN``, ``COMMIT`` and nothing. The service's insert
(``TicketingRecorder._insert_in_pipeline``) sends it all, ``BEGIN`` to ``COMMIT``, and syncs
once. Counted here from libpq's own trace of the connection: every round trip ends with the
client's ``Sync``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg.pq import Trace, TransactionStatus
from psycopg.sql import SQL, Identifier

from application.recorder import TicketingRecorder
from application.records import Alongside, IdempotencyRecord


def syncs(recorder: TicketingRecorder, write: Callable[[], object]) -> int:
    """How many times the client synced with the server while ``write`` ran (the recorder's
    pool holds one connection: the one traced)."""
    with tempfile.TemporaryFile("w+") as trace:
        with recorder.datastore.get_connection() as conn:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        try:
            write()
        finally:
            with recorder.datastore.get_connection() as conn:
                conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if line.split("\t")[:1] == ["F"] and "\tSync" in line)


def event(originator: UUID | None = None, version: int = 1) -> StoredEvent:
    """A stored event of ``originator`` (a new aggregate if None)."""
    return StoredEvent(originator or uuid4(), version, "test:Happened", b"{}")


def test_a_command_with_everything_alongside_is_one_round_trip(
    one_connection_recorder: TicketingRecorder,
) -> None:
    recorder = one_connection_recorder
    read, written = uuid4(), uuid4()
    recorder.insert_events([event(read)])
    key = IdempotencyRecord("alice", f"key-{uuid4()}", "fingerprint", written, 2)
    alongside = Alongside(idempotency=key, unchanged=((read, 1),))
    ids: list[int] = []
    trips = syncs(
        recorder,
        lambda: ids.extend(
            recorder.insert_events([event(written), event(written, 2)], alongside=alongside) or ()
        ),
    )
    assert trips == 1
    assert len(ids) == 2
    with recorder.datastore.transaction(commit=False) as curs:
        row = curs.execute(
            "SELECT position FROM idempotency_keys WHERE idempotency_key = %s", (key.key,)
        ).fetchone()
    assert row is not None
    assert row["position"] == max(ids)  # what a replay reports


def test_a_lost_race_is_rolled_back_at_once_and_the_next_write_succeeds(
    one_connection_recorder: TicketingRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused (the store retries it) and nothing of it written: the commit sent with it was
    skipped, the transaction rolled back without a warning, and the connection serves the
    next write."""
    recorder = one_connection_recorder
    read = uuid4()
    recorder.insert_events([event(read), event(read, 2)])
    with caplog.at_level(logging.WARNING), pytest.raises(IntegrityError):
        recorder.insert_events([event()], alongside=Alongside(unchanged=((read, 1),)))
    with recorder.datastore.get_connection() as conn:
        assert conn.info.transaction_status is TransactionStatus.IDLE
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert syncs(recorder, lambda: recorder.insert_events([event()])) == 1
    with recorder.datastore.transaction(commit=False) as curs:
        row = curs.execute(
            SQL("SELECT count(*) AS n FROM {}").format(Identifier(recorder.events_table_name))
        ).fetchone()
    assert row is not None
    assert row["n"] == 3
