"""The event store's recorder, extended to record idempotency keys in the same transaction.

A command sent with an ``Idempotency-Key`` stores the key, the request's fingerprint and the
ticket version it produced together with its events: either both are committed or neither,
so a retry after a crash or a timeout finds the first outcome and records nothing new.
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

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
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
