"""The event store's recorder, extended with what must commit together with events.

- Idempotency keys: a command sent with an ``Idempotency-Key`` stores the key, the request's
  fingerprint and the ticket version it produced with its events, so a retry after a crash
  or a timeout finds the first outcome and records nothing new.
- Kafka offsets: a platform message's effect and the offset after it commit in one
  transaction, so a redelivered message can have no second effect (exactly-once effects).
- The publisher's position in the notification log (at-least-once relay to Kafka).
- Outbox messages that must not live in the event store (an e-mail verification code goes
  out to the mailer; the store keeps only its hash); deleted once the broker has them.
- Verification requests per account, for the rate limit.
- Attachment references: an upload is attached by the command that records its use, and
  only once (the reference's primary key refuses a second use).
- Submission gates, ticket owners and applied platform events (``application.gates``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent, Subscription
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from application import gates
from application.records import (
    NOTHING_ELSE,
    Alongside,
    ConsumedOffset,
    Gate,
    IdempotencyRecord,
    OutboxMessage,
)
from application.schema import (
    IDEMPOTENCY_TABLE,
    OFFSETS_TABLE,
    OUTBOX_TABLE,
    PUBLISHER_TABLE,
    VERIFICATION_REQUESTS_TABLE,
    ticketing_ddl,
)
from application.subscription import ListeningSubscription


class TicketingRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder that also writes idempotency records atomically."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += ticketing_ddl()

    def create_table(self) -> None:
        """The tables, then the gate tables filled from older events (once).

        Skipped when this version's tables are all there: ``CREATE INDEX IF NOT EXISTS`` takes
        a share lock on its table even when the index exists, and a process starting beside
        a submission (which writes ``ticket_owners`` and then waits for the events table that
        this DDL holds) deadlocked with it."""
        marker = (
            "schema-"
            + hashlib.sha256(
                "\n".join(
                    statement.as_string(None) for statement in self.sql_create_statements
                ).encode()
            ).hexdigest()[:16]
        )
        if self._schema_is(marker):
            return
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            gates.migrate(curs, self.events_table_name)
            curs.execute(
                "INSERT INTO ticketing_migrations (name) VALUES (%s) ON CONFLICT DO NOTHING",
                (marker,),
            )

    def _schema_is(self, marker: str) -> bool:
        with self.datastore.transaction(commit=False) as curs:
            row = curs.execute(
                "SELECT to_regclass('ticketing_migrations') IS NOT NULL AS present"
            ).fetchone()
            if not (row and row["present"]):
                return False
            found = curs.execute("SELECT 1 FROM ticketing_migrations WHERE name = %s", (marker,))
            return found.fetchone() is not None

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> None:
        if alongside.ticket_owner is not None:  # before the events: a closed gate refuses them
            gates.file_ticket(curs, alongside.ticket_owner)
        if alongside.gate is not None:
            gates.close_gate(curs, alongside.gate)
        if alongside.platform_event_id is not None:
            gates.mark_applied(curs, alongside.platform_event_id)
        super()._insert_events(curs, stored_events, **kwargs)
        for reference in alongside.attachment_references:
            curs.execute(
                "INSERT INTO attachment_references (attachment_id, ticket_id, message_id) "
                "VALUES (%s, %s, %s)",
                (reference.attachment_id, reference.ticket_id, reference.message_id),
            )
        if alongside.consumed is not None:
            self._upsert_offset(curs, alongside.consumed)
        for message in alongside.outbox:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (channel, message_key, payload) VALUES (%s, %s, %s)"
                ).format(table=Identifier(OUTBOX_TABLE)),
                (message.channel, message.key, Jsonb(message.payload)),
            )
        request = alongside.verification_request
        if request is not None:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (verification_id, account_id, requested_at) "
                    "VALUES (%s, %s, %s)"
                ).format(table=Identifier(VERIFICATION_REQUESTS_TABLE)),
                (request.verification_id, request.account_id, request.requested_at),
            )
        idempotency = alongside.idempotency
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
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        idempotency = alongside.idempotency
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

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        """Follow the store: LISTEN first, and read again at least every second."""
        return ListeningSubscription(recorder=self, gt=gt, topics=topics)

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

    def delete_outbox(self, ids: Sequence[int]) -> None:
        """Forget outbox messages the broker has acknowledged."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {table} WHERE id = ANY(%s)").format(
                    table=Identifier(OUTBOX_TABLE)
                ),
                (list(ids),),
            )
