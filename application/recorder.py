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
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal
from psycopg.types.json import Jsonb

from application import gates, signatures
from application.chain import chain_ddl
from application.ledger import upsert_offset
from application.records import (
    NOTHING_ELSE,
    Alongside,
)
from application.schema import (
    IDEMPOTENCY_TABLE,
    OUTBOX_TABLE,
    VERIFICATION_REQUESTS_TABLE,
    ticketing_ddl,
)

# Fails the transaction, as a unique violation (so the command is retried), if any of the
# aggregates has an event past the version the command read it at.
UNCHANGED_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid;
BEGIN
    SELECT e.originator_id INTO changed FROM {table} e
    JOIN unnest(ids, versions) AS r(id, version)
    ON e.originator_id = r.id AND e.originator_version > r.version
    LIMIT 1;
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION 'aggregate % changed since the command read it', changed
        USING ERRCODE = 'unique_violation';
    END IF;
END
$$"""


class TicketingRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder that also writes idempotency records atomically."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += ticketing_ddl()
        self.sql_create_statements += [SQL(statement).format() for statement in signatures.DDL]
        self.sql_create_statements += chain_ddl(events_table_name)
        self.signing_key = b""  # set by the store from its settings: events are then signed
        self.unchanged_function = f"{events_table_name}_unchanged"
        # the last notification id this session drew from the events table's sequence: under
        # the table's lock, the largest of the insert just made (its ids are drawn in order)
        self._last_notification_id = SQL(
            "UPDATE {table} SET position = currval(pg_get_serial_sequence({events}, "
            "'notification_id')) WHERE account_id = %s AND idempotency_key = %s"
        ).format(
            table=Identifier(IDEMPOTENCY_TABLE),
            events=Literal(f'"{datastore.schema}"."{events_table_name}"'),
        )
        self._version_probe = SQL(  # composed once: lists select it on every request
            "(SELECT max(originator_version) FROM {} WHERE originator_id = %s)"
        ).format(Identifier(events_table_name))
        self.sql_create_statements.append(
            SQL(UNCHANGED_FUNCTION).format(
                function=Identifier(self.unchanged_function), table=Identifier(events_table_name)
            )
        )

    def version_probe(self, originator_id: UUID) -> tuple[Composed, tuple[Any, ...]]:
        """An expression, and its parameters, worth an aggregate's current version (NULL
        for none): a query that selects it beside its own columns learns, in its own round
        trip, whether a copy of that aggregate is current (the primary key's last entry)."""
        return self._version_probe, (originator_id,)

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
        if self.signing_key:
            signatures.sign(curs, self.signing_key, stored_events)
        for reference in alongside.attachment_references:
            curs.execute(
                "INSERT INTO attachment_references (attachment_id, ticket_id, message_id, "
                "staff_only) VALUES (%s, %s, %s, %s)",
                (
                    reference.attachment_id,
                    reference.ticket_id,
                    reference.message_id,
                    reference.staff_only,
                ),
            )
        if alongside.consumed is not None:
            upsert_offset(curs, alongside.consumed)
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

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The insert (:meth:`_insert_in_pipeline`); a transaction a closed gate failed is that
        gate's refusal."""
        try:
            ids: Sequence[int] | None = self._insert_in_pipeline(stored_events, **kwargs)
        except ProgrammingError as error:
            refusal = gates.closed_gate(error)
            if refusal is None:
                raise
            raise refusal from None
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_in_pipeline(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        """eventsourcing's insert (what goes alongside, then the events, in one pipelined
        transaction, retried as the library retries it), in one round trip, and a failure
        leaves the pipeline and the transaction as it happens.

        Round trips: the library opens the transaction with psycopg's ``conn.transaction()``
        inside the pipeline and syncs after the insert, and psycopg syncs the pipeline to start
        a transaction there, to end it, and to end the pipeline: five round trips a command,
        three of them for ``BEGIN``, ``COMMIT`` and nothing (``docs/benchmarks.md``). Here
        ``BEGIN`` and ``COMMIT`` are statements of the pipeline like the others and all of it
        goes out at once; the pipeline's end reads every answer and raises the first failure
        (a uniqueness violation is an ``IntegrityError`` there as at a sync of its own: what
        ran after it was skipped, the commit included). The insert's notification ids are read
        after that, from its cursor; the idempotency record's position (the largest of them)
        is set before the commit from the sequence they were drawn from.

        Failures: psycopg reads a pipeline's answers as they arrive, also while statements are
        still being sent: a gate's refusal or a lost race can be read before the pipeline's
        end, and then the statements it aborted are still pending. The library keeps such a
        failure until its transaction has ended, and the transaction's end then fails on them
        with "pipeline aborted", in the failure's place: retried ten times 0.2 s apart and
        raised as an OperationalError. Here the failure propagates: the pipeline ends (should
        that fail too, psycopg logs it as a warning and keeps the failure), the connection's
        block rolls the transaction back through psycopg, which also forgets the statements
        it prepared in it, and the failure is what the caller gets.
        (The library's other insert, by a database function, is not used: it takes no table
        lock, docs/benchmarks.md.)"""
        # the pool's connection block rolls a failed transaction back through psycopg
        with self.datastore.get_connection() as conn, conn.cursor() as inserted:
            with conn.pipeline():
                conn.execute("BEGIN", prepare=False)
                with conn.cursor() as curs:
                    self._insert_events(curs, stored_events, alongside=alongside, **kwargs)
                if stored_events:
                    self._insert_stored_events(
                        inserted, stored_events, alongside=alongside, **kwargs
                    )
                    idempotency = alongside.idempotency
                    if idempotency is not None:  # the position a replay reports
                        conn.execute(
                            self._last_notification_id,
                            (idempotency.account_id, idempotency.key),
                        )
                conn.execute("COMMIT", prepare=False)
            if not stored_events:
                return None
            return self._fetch_ids_after_insert_events(inserted, stored_events)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> None:
        """The library's insert (lock, notify, insert), with the check that what the command
        read is unchanged made under the table's lock: no event can be added in between."""
        self._lock_table(curs)
        if alongside.unchanged:
            self._check_unchanged(curs, alongside.unchanged)
        self._notify_channel(curs)
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)

    def _check_unchanged(self, curs: Cursor[DictRow], read: Sequence[tuple[UUID, int]]) -> None:
        """Fail the transaction (a unique violation: retried) if any aggregate has an event
        past the version it was read at."""
        ids, versions = zip(*read, strict=True)
        curs.execute(
            SQL("SELECT {function}(%s, %s)").format(function=Identifier(self.unchanged_function)),
            (list(ids), list(versions)),
        )
