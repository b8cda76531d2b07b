"""The event store's recorder, extended with what must commit together with events.

- Idempotency keys: a command sent with an ``Idempotency-Key`` stores the key, the request's
  fingerprint and the ticket version it produced with its events, so a retry after a crash
  or a timeout finds the first outcome and records nothing new.
- Kafka offsets: a platform message's effect and the offset after it commit in one
  transaction, so a redelivered message can have no second effect (exactly-once effects).
- The publisher's position in the notification log (at-least-once relay to Kafka).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

IDEMPOTENCY_TABLE = "idempotency_keys"
OFFSETS_TABLE = "kafka_offsets"
PUBLISHER_TABLE = "publisher_positions"


@dataclass(frozen=True)
class ConsumedOffset:
    """Where a consumer group is in one partition: the offset of the next message to read."""

    group: str
    topic: str
    partition: int
    next_offset: int


@dataclass(frozen=True)
class IdempotencyRecord:
    """A key one account used, what it was used for, and the ticket version it produced."""

    account_id: str
    key: str
    fingerprint: str
    ticket_id: UUID
    version: int
    message_id: str | None = None
    position: int = 0


class TicketingRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder that also writes idempotency records atomically."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "account_id text NOT NULL, "
                "idempotency_key text NOT NULL, "
                "fingerprint text NOT NULL, "
                "ticket_id uuid NOT NULL, "
                "ticket_version bigint NOT NULL, "
                "message_id text, "
                "position bigint, "
                "created_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (account_id, idempotency_key))"
            ).format(table=Identifier(IDEMPOTENCY_TABLE))
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, "
                "next_offset bigint NOT NULL, PRIMARY KEY (consumer_group, topic, partition))"
            ).format(table=Identifier(OFFSETS_TABLE))
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "publisher text PRIMARY KEY, position bigint NOT NULL)"
            ).format(table=Identifier(PUBLISHER_TABLE))
        )

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        consumed: ConsumedOffset | None = None,
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if consumed is not None:
            self._upsert_offset(curs, consumed)
        if idempotency is not None:
            # A concurrent request with the same key makes this a unique violation, which
            # rolls the whole command back; its retry then finds the winner's record.
            curs.execute(
                SQL(
                    "INSERT INTO {table} (account_id, idempotency_key, fingerprint, "
                    "ticket_id, ticket_version, message_id) VALUES (%s, %s, %s, %s, %s, %s)"
                ).format(table=Identifier(IDEMPOTENCY_TABLE)),
                (
                    idempotency.account_id,
                    idempotency.key,
                    idempotency.fingerprint,
                    idempotency.ticket_id,
                    idempotency.version,
                    idempotency.message_id,
                ),
            )

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        consumed: ConsumedOffset | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if idempotency is not None and notification_ids:
            # The position a replay reports: the same as the first response's.
            curs.execute(
                SQL(
                    "UPDATE {table} SET position = %s "
                    "WHERE account_id = %s AND idempotency_key = %s"
                ).format(table=Identifier(IDEMPOTENCY_TABLE)),
                (max(notification_ids), idempotency.account_id, idempotency.key),
            )
        return notification_ids

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

    @staticmethod
    def _upsert_offset(curs: Cursor[DictRow], consumed: ConsumedOffset) -> None:
        # an offset never moves back, whatever order two writers commit in
        curs.execute(
            SQL(
                "INSERT INTO {table} (consumer_group, topic, partition, next_offset) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, partition) "
                "DO UPDATE SET next_offset = GREATEST({table}.next_offset, EXCLUDED.next_offset)"
            ).format(table=Identifier(OFFSETS_TABLE)),
            (consumed.group, consumed.topic, consumed.partition, consumed.next_offset),
        )

    def record_offset(self, consumed: ConsumedOffset) -> None:
        """Move a consumer on past a message that changed nothing (duplicate, skipped, DLQ)."""
        with self.datastore.transaction(commit=True) as curs:
            self._upsert_offset(curs, consumed)

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
