"""The ledger in PostgreSQL: what the recorder wrote beside the events, read back, and the
workers' bookkeeping (consumer offsets, publisher positions, the outbox).

Publishers take turns: a publisher's position row, and each outbox row, is locked
(``FOR UPDATE SKIP LOCKED``) by the transaction that sends what follows it and moves it on. A
second worker's publisher finds it locked and waits for its turn instead of sending the same
messages again; if the first dies, its transaction ends and the second carries on from the
last position that was committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from application import gates
from application.ports import PublisherTurn
from application.records import ConsumedOffset, Gate, IdempotencyRecord, OutboxMessage
from application.schema import (
    IDEMPOTENCY_TABLE,
    OFFSETS_TABLE,
    OUTBOX_TABLE,
    PUBLISHER_TABLE,
    VERIFICATION_REQUESTS_TABLE,
)


def upsert_offset(curs: Cursor[DictRow], consumed: ConsumedOffset) -> None:
    """Move a consumer group on in one partition (inside the caller's transaction); an
    offset never moves back, whatever order two writers commit in."""
    curs.execute(
        SQL(
            "INSERT INTO {table} (consumer_group, topic, partition, next_offset) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, partition) "
            "DO UPDATE SET next_offset = GREATEST({table}.next_offset, EXCLUDED.next_offset)"
        ).format(table=Identifier(OFFSETS_TABLE)),
        (consumed.group, consumed.topic, consumed.partition, consumed.next_offset),
    )


class _Turn:
    """A publisher's position, locked in the caller's transaction until it ends."""

    def __init__(self, curs: Cursor[DictRow], publisher: str, position: int) -> None:
        self._curs, self._publisher, self.position = curs, publisher, position

    def advance(self, position: int) -> None:
        """Move the position on (committed when the turn ends without an error)."""
        self._curs.execute(
            SQL("UPDATE {table} SET position = %s WHERE publisher = %s").format(
                table=Identifier(PUBLISHER_TABLE)
            ),
            (position, self._publisher),
        )
        self.position = position


class PostgresLedger:
    """Queries and bookkeeping on the tables the ticketing recorder writes."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def find_idempotency(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The record of a key this account used before, if any."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT fingerprint, ticket_id, ticket_version, message_id, position "
                    "FROM {table} "
                    "WHERE account_id = %s AND idempotency_key = %s"
                ).format(table=Identifier(IDEMPOTENCY_TABLE)),
                (account_id, key),
            ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            account_id=account_id,
            key=key,
            fingerprint=row["fingerprint"],
            ticket_id=row["ticket_id"],
            version=row["ticket_version"],
            message_id=row["message_id"],
            position=row["position"] or 0,
        )

    def record_offset(self, consumed: ConsumedOffset) -> None:
        """Move a consumer on past a message that changed nothing (duplicate, skipped, DLQ)."""
        with self.datastore.transaction(commit=True) as curs:
            upsert_offset(curs, consumed)

    def consumer_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The next offset to read, per (topic, partition), for a consumer group."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT topic, partition, next_offset FROM {table} WHERE consumer_group = %s"
                ).format(table=Identifier(OFFSETS_TABLE)),
                (group,),
            ).fetchall()
        return {(row["topic"], row["partition"]): row["next_offset"] for row in rows}

    def publisher_position(self, publisher: str) -> int:
        """The last notification id a publisher has sent (0 before the first)."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT position FROM {table} WHERE publisher = %s").format(
                    table=Identifier(PUBLISHER_TABLE)
                ),
                (publisher,),
            ).fetchone()
        return 0 if row is None else int(row["position"])

    def set_publisher_position(self, publisher: str, position: int) -> None:
        """Record that everything up to ``position`` has been sent."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (publisher, position) VALUES (%s, %s) "
                    "ON CONFLICT (publisher) DO UPDATE SET position = EXCLUDED.position"
                ).format(table=Identifier(PUBLISHER_TABLE)),
                (publisher, position),
            )

    def was_applied(self, platform_event_id: str) -> bool:
        """Whether a platform event was applied before."""
        return gates.was_applied(self.datastore, platform_event_id)

    def tickets_owned(self, gate: Gate) -> list[UUID]:
        """Every ticket filed under a workspace or an account."""
        return gates.tickets_owned(self.datastore, gate)

    def forget_broker_positions(self) -> None:
        """Forget every consumer offset and publisher position: the broker's logs they point
        into are gone (a new, empty broker), so consumers start from the beginning (event ids
        drop what was applied) and publishers send every stored event again."""
        with self.datastore.transaction(commit=True) as curs:
            for table in (OFFSETS_TABLE, PUBLISHER_TABLE):
                curs.execute(SQL("DELETE FROM {table}").format(table=Identifier(table)))

    def recent_verification_requests(self, account_id: str, since: datetime) -> list[datetime]:
        """When an account asked for verifications since a moment, oldest first."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT requested_at FROM {table} WHERE account_id = %s AND requested_at > %s "
                    "ORDER BY requested_at"
                ).format(table=Identifier(VERIFICATION_REQUESTS_TABLE)),
                (account_id, since),
            ).fetchall()
        return [row["requested_at"] for row in rows]

    def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest outbox messages, in the order they were written."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT id, channel, message_key, payload FROM {table} ORDER BY id LIMIT %s"
                ).format(table=Identifier(OUTBOX_TABLE)),
                (limit,),
            ).fetchall()
        return [OutboxMessage(r["channel"], r["message_key"], r["payload"], r["id"]) for r in rows]

    @contextmanager
    def publisher_turn(self, publisher: str) -> Iterator[PublisherTurn | None]:
        """This publisher's position, locked for the block; None while another worker's
        publisher has its turn. What the block advances commits when it ends."""
        with self.datastore.transaction(commit=True) as curs:
            table = Identifier(PUBLISHER_TABLE)
            curs.execute(
                SQL(
                    "INSERT INTO {table} (publisher, position) VALUES (%s, 0) "
                    "ON CONFLICT (publisher) DO NOTHING"
                ).format(table=table),
                (publisher,),
            )
            row = curs.execute(
                SQL(
                    "SELECT position FROM {table} WHERE publisher = %s FOR UPDATE SKIP LOCKED"
                ).format(table=table),
                (publisher,),
            ).fetchone()
            yield None if row is None else _Turn(curs, publisher, int(row["position"]))

    @contextmanager
    def claimed_outbox(self, limit: int) -> Iterator[list[OutboxMessage]]:
        """The oldest outbox messages no other publisher holds, locked for the block and
        deleted when it ends without an error (they stay if it fails)."""
        with self.datastore.transaction(commit=True) as curs:
            rows = curs.execute(
                SQL(
                    "SELECT id, channel, message_key, payload FROM {table} ORDER BY id "
                    "LIMIT %s FOR UPDATE SKIP LOCKED"
                ).format(table=Identifier(OUTBOX_TABLE)),
                (limit,),
            ).fetchall()
            messages = [
                OutboxMessage(r["channel"], r["message_key"], r["payload"], r["id"]) for r in rows
            ]
            yield messages
            if messages:
                curs.execute(
                    SQL("DELETE FROM {table} WHERE id = ANY(%s)").format(
                        table=Identifier(OUTBOX_TABLE)
                    ),
                    ([m.id for m in messages],),
                )
