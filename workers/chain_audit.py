"""``ticketing audit verify``, first half: the event store's hash chain and its checkpoints.

The chain is walked from the first event (or, with ``--from-position N``, from the newest
checkpoint at or before N, whose digest the store must still hold) and every digest recomputed;
the checkpoints are read from the broker, never from the database, which whoever edited the
events could have edited too.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from psycopg.sql import SQL, Identifier

from application.chain import (
    GENESIS,
    MIGRATIONS_TABLE,
    Break,
    ChainReport,
    Checkpoint,
    stored_rows,
    walk,
)
from application.config import Settings
from projections.view import TicketingEventLog
from workers.kafka_clients import read_until_quiet

QUIET = 1.5  # seconds without a new record that end the reading of the checkpoints
READ_TIMEOUT = 60.0
FIRST_WAIT = 6.0  # seconds for the first checkpoint (one small partition) before "there are none"


class CheckpointsUnreadable(Exception):
    """The broker could not be asked for the checkpoints."""


def read_checkpoints(settings: Settings, timeout: float = READ_TIMEOUT) -> list[Checkpoint]:
    """Every checkpoint on ``audit.checkpoints``, oldest first (read until the topic is quiet:
    the broker's "latest offset" answer cannot be trusted)."""
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            enable_auto_commit=False,
            bootstrap_timeout_ms=10_000,
            request_timeout_ms=10_000,
        )
    except KafkaError as error:
        raise CheckpointsUnreadable(f"the broker at {settings.kafka_bootstrap}: {error}") from None
    topic = settings.topic_audit_checkpoints
    try:
        records = read_until_quiet(consumer, topic, QUIET, timeout, first_wait=FIRST_WAIT)
        found = [_checkpoint(record.value) for record in records]
        return sorted(found, key=lambda checkpoint: checkpoint.position)
    except KafkaError as error:
        raise CheckpointsUnreadable(f"{topic}: {error}") from None
    finally:
        consumer.close()


def _checkpoint(value: bytes) -> Checkpoint:
    message: Any = json.loads(value)
    return Checkpoint.from_message(message)


def verify_chain(
    event_log: TicketingEventLog, checkpoints: list[Checkpoint], from_position: int | None
) -> ChainReport:
    """Walk the chain (from the first event, or from the newest checkpoint at or before
    ``from_position``) and hold it to the checkpoints."""
    recorder: Any = event_log.recorder  # the PostgreSQL recorder, whose table this is
    table: str = recorder.events_table_name
    with event_log.datastore.transaction(commit=False) as curs:
        row = curs.execute(
            SQL("SELECT max(up_to) AS up_to FROM {}").format(Identifier(MIGRATIONS_TABLE))
        ).fetchone()
        migrated = int(row["up_to"]) if row and row["up_to"] is not None else None
        start = (0, GENESIS)
        if from_position is not None:
            earlier = [c for c in checkpoints if c.position <= from_position]
            if earlier:
                start = (earlier[-1].position, earlier[-1].digest)
                at = earlier[-1].at
                print(f"from the checkpoint at position {start[0]:,} ({at:%Y-%m-%d %H:%M:%S %Z})")
            else:
                print("no checkpoint at or before that position: from the first event")
        rows = stored_rows(curs, table, max(start[0] - 1, 0))
        if start[0] > 0:
            first = next(rows, None)
            if first is None or first[0] != start[0] or first[5] != start[1]:
                return ChainReport(
                    0,
                    start[0],
                    [Break(start[0], "the checkpoint's event is gone or changed")],
                    migrated,
                )
        return walk(rows, checkpoints, start=start, migrated_up_to=migrated, progress=_progress)


def _progress(checked: int) -> None:
    sys.stderr.write(f"\r  {checked:,} events chained")
    sys.stderr.flush()
