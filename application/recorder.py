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
from dataclasses import dataclass
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
from application.gates import Gate, TicketOwner
from application.numbers import SEQUENCE_DDL
from application.subscription import ListeningSubscription

IDEMPOTENCY_TABLE = "idempotency_keys"
OFFSETS_TABLE = "kafka_offsets"
PUBLISHER_TABLE = "publisher_positions"
OUTBOX_TABLE = "outbox_messages"
VERIFICATION_REQUESTS_TABLE = "verification_requests"


@dataclass(frozen=True)
class OutboxMessage:
    """A message to publish on a channel (mapped to a topic by the publisher)."""

    channel: str
    key: str
    payload: dict[str, Any]
    id: int = 0


@dataclass(frozen=True)
class AttachmentReference:
    """An uploaded file attached to a ticket (and to one of its messages, if not at submission)."""

    attachment_id: UUID
    ticket_id: UUID
    message_id: str | None


@dataclass(frozen=True)
class VerificationRequest:
    """One e-mail verification an account asked for, and when."""

    verification_id: UUID
    account_id: str
    requested_at: datetime


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
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, "
                "channel text NOT NULL, message_key text NOT NULL, payload jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            ).format(table=Identifier(OUTBOX_TABLE))
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} (verification_id uuid PRIMARY KEY, "
                "account_id text NOT NULL, requested_at timestamptz NOT NULL)"
            ).format(table=Identifier(VERIFICATION_REQUESTS_TABLE))
        )
        self.sql_create_statements += [
            SQL(statement).format()
            for statement in (
                SEQUENCE_DDL,
                "CREATE TABLE IF NOT EXISTS attachment_blobs "
                "(sha256 text PRIMARY KEY, content bytea NOT NULL)",
                "CREATE TABLE IF NOT EXISTS attachments (id uuid PRIMARY KEY, "
                "uploader_id text NOT NULL, filename text NOT NULL, content_type text NOT NULL, "
                "size bigint NOT NULL, sha256 text NOT NULL, uploaded_at timestamptz NOT NULL)",
                "CREATE INDEX IF NOT EXISTS attachments_by_sha256 ON attachments (sha256)",
                "CREATE TABLE IF NOT EXISTS attachment_references ("
                "attachment_id uuid PRIMARY KEY REFERENCES attachments (id), "
                "ticket_id uuid NOT NULL, message_id text)",
            )
        ]
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS verification_requests_by_account "
                "ON {table} (account_id, requested_at)"
            ).format(table=Identifier(VERIFICATION_REQUESTS_TABLE))
        )
        self.sql_create_statements += [SQL(statement).format() for statement in gates.DDL]

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
        idempotency: IdempotencyRecord | None = None,
        consumed: ConsumedOffset | None = None,
        outbox: Sequence[OutboxMessage] = (),
        verification_request: VerificationRequest | None = None,
        attachment_references: Sequence[AttachmentReference] = (),
        ticket_owner: TicketOwner | None = None,
        gate: Gate | None = None,
        platform_event_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if ticket_owner is not None:  # before the events: a closed gate refuses them all
            gates.file_ticket(curs, ticket_owner)
        if gate is not None:
            gates.close_gate(curs, gate)
        if platform_event_id is not None:
            gates.mark_applied(curs, platform_event_id)
        super()._insert_events(curs, stored_events, **kwargs)
        for reference in attachment_references:
            curs.execute(
                "INSERT INTO attachment_references (attachment_id, ticket_id, message_id) "
                "VALUES (%s, %s, %s)",
                (reference.attachment_id, reference.ticket_id, reference.message_id),
            )
        if consumed is not None:
            self._upsert_offset(curs, consumed)
        for message in outbox:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (channel, message_key, payload) VALUES (%s, %s, %s)"
                ).format(table=Identifier(OUTBOX_TABLE)),
                (message.channel, message.key, Jsonb(message.payload)),
            )
        if verification_request is not None:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (verification_id, account_id, requested_at) "
                    "VALUES (%s, %s, %s)"
                ).format(table=Identifier(VERIFICATION_REQUESTS_TABLE)),
                (
                    verification_request.verification_id,
                    verification_request.account_id,
                    verification_request.requested_at,
                ),
            )
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
