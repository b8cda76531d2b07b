"""The hash chain over the event store: proof that no stored event was edited, removed,
inserted or reordered since it was written (issue 27).

Each event carries ``chain_digest``: SHA-256 of the previous event's digest (in store order,
32 zero bytes before the first) and of the event itself (its position, originator, version,
topic and the SHA-256 of its state). A trigger computes it in the transaction that writes the
event, from the event before it; the recorder locks the events table before positions are
drawn, so positions, commits and the chain follow one order. (A head row updated by every
event made a bulk load quadratic: a million updates of one row in one transaction.) Events
stored before the chain existed are chained once, by the migration that creates it, and that
is recorded (``audit_chain_migrations``): the chain proves their content since then only.

Someone who can write the database can also recompute every digest after an edit; the worker
therefore publishes the chain's head to Kafka (``audit.checkpoints``) at least every minute and
every 10,000 events (``workers.checkpoints``), and ``verify`` holds the store to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composed, Identifier

GENESIS = bytes(32)  # the digest "before" the first event
MIGRATIONS_TABLE = "audit_chain_migrations"
CHECKPOINTS_TABLE = "audit_checkpoints"

_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    -- the event before this one in store order: committed before it (the recorder's table
    -- lock), or written earlier by the same statement (visible to a row's BEFORE trigger)
    SELECT chain_digest INTO previous FROM {table}
    WHERE notification_id < NEW.notification_id ORDER BY notification_id DESC LIMIT 1;
    NEW.chain_digest := {table}_digest(
        COALESCE(previous, decode(repeat('00', 32), 'hex')),
        NEW.notification_id, NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state);
    RETURN NEW;
END
$$"""

_DIGEST = """
CREATE OR REPLACE FUNCTION {table}_digest(
    before bytea, at_position bigint, originator uuid, version bigint, topic text, state bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(before || int8send(at_position) || uuid_send(originator) || int8send(version)
        || int4send(octet_length(convert_to(COALESCE(topic, ''), 'UTF8')))
        || convert_to(COALESCE(topic, ''), 'UTF8') || sha256(COALESCE(state, ''::bytea)))
$$"""

# chains, in store order, every event stored before the chain existed (once: a migration)
_MIGRATE = """
DO $$
DECLARE
    previous bytea := decode(repeat('00', 32), 'hex');
    event record;
    chained bigint := 0;
    last bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM {table} WHERE chain_digest IS NULL) THEN
        FOR event IN SELECT notification_id, originator_id, originator_version, topic, state
                     FROM {table} ORDER BY notification_id LOOP
            previous := {table}_digest(previous, event.notification_id, event.originator_id,
                event.originator_version, event.topic, event.state);
            UPDATE {table} SET chain_digest = previous
            WHERE notification_id = event.notification_id;
            chained := chained + 1;
            last := event.notification_id;
        END LOOP;
        INSERT INTO audit_chain_migrations (up_to, events) VALUES (last, chained);
    END IF;
END
$$"""


def chain_ddl(table: str) -> list[Composed]:
    """The chain's tables, functions and trigger, and the migration of events stored before
    them: run in one transaction with the events table locked against writers."""
    function = f"{table}_chain"
    statements = [
        "LOCK TABLE {table} IN EXCLUSIVE MODE",
        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS chain_digest bytea",
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (up_to bigint NOT NULL, "
        "events bigint NOT NULL, chained_at timestamptz NOT NULL DEFAULT now())",
        f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (position bigint PRIMARY KEY, "
        "digest bytea NOT NULL, at timestamptz NOT NULL)",
        # signed with TICKETING_SIGNING_KEY (application.signatures.checkpoint_mac)
        f"ALTER TABLE {CHECKPOINTS_TABLE} ADD COLUMN IF NOT EXISTS mac bytea",
        _DIGEST,
        _FUNCTION,
        "DROP TRIGGER IF EXISTS {trigger} ON {table}",
        "CREATE TRIGGER {trigger} BEFORE INSERT ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION {function}()",
        _MIGRATE,
    ]
    names = {
        "table": Identifier(table),
        "function": Identifier(function),
        "trigger": Identifier(function),
    }
    return [
        SQL(statement.replace("{table}_digest", f'"{table}_digest"')).format(**names)
        for statement in statements
    ]


def digest(
    previous: bytes, position: int, originator: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """One link of the chain, as the trigger computes it."""
    text = (topic or "").encode()
    return hashlib.sha256(
        previous
        + position.to_bytes(8, "big", signed=True)
        + originator.bytes
        + version.to_bytes(8, "big", signed=True)
        + len(text).to_bytes(4, "big", signed=True)
        + text
        + hashlib.sha256(state or b"").digest()
    ).digest()


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head as the worker published it: nobody editing the database can change it."""

    position: int
    digest: bytes
    at: datetime

    def as_message(self) -> dict[str, Any]:
        """The checkpoint as ``audit.checkpoints`` carries it (CONTRACT.md §3.2)."""
        return {"position": self.position, "digest": self.digest.hex(), "at": self.at.isoformat()}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Checkpoint:
        """A checkpoint read back from the topic."""
        return cls(
            int(message["position"]),
            bytes.fromhex(message["digest"]),
            datetime.fromisoformat(message["at"]),
        )


@dataclass(frozen=True)
class Break:
    """Where the chain stops proving anything: the first bad position and why."""

    position: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found."""

    checked: int  # events whose digests were recomputed
    head: int  # the last position walked
    breaks: list[Break]
    migrated_up_to: int | None  # events up to here were chained by the migration

    @property
    def passed(self) -> bool:
        """No break found."""
        return not self.breaks


Row = tuple[int, UUID, int, str, bytes, bytes | None]  # position, originator, version, ...


def walk(
    rows: Iterable[Row],
    checkpoints: Iterable[Checkpoint],
    *,
    start: tuple[int, bytes] = (0, GENESIS),
    migrated_up_to: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Recompute the chain over ``rows`` (in store order, after ``start``'s position, from its
    digest) and hold it to the checkpoints: the first break in the chain, and every checkpoint
    the store does not match."""
    expected = {c.position: c for c in checkpoints if c.position > start[0]}
    previous_position, previous = start
    checked = 0
    breaks: list[Break] = []
    for position, originator, version, topic, state, stored in rows:
        if position <= previous_position:
            breaks.append(Break(position, f"out of store order after {previous_position}"))
            break
        computed = digest(previous, position, originator, version, topic, state)
        if stored != computed:
            breaks.append(
                Break(
                    position,
                    "its digest does not follow from the event before it and its own content: "
                    "it was edited, or an event before it was removed, inserted or moved",
                )
            )
            break
        checkpoint = expected.pop(position, None)
        if checkpoint is not None and checkpoint.digest != stored:
            breaks.append(
                Break(
                    position,
                    f"the chain was recomputed: the checkpoint of {checkpoint.at.isoformat()} "
                    "holds another digest for this position",
                )
            )
            break
        previous_position, previous = position, computed
        checked += 1
        if progress is not None and checked % 100_000 == 0:
            progress(checked)
    if not breaks:
        for position in sorted(expected):
            if position > previous_position:
                breaks.append(
                    Break(
                        position,
                        f"a checkpoint of {expected[position].at.isoformat()} is at this "
                        f"position, the store ends at {previous_position}: events were removed",
                    )
                )
            else:
                breaks.append(
                    Break(position, "a checkpoint names this position and the store has no event")
                )
            break
    return ChainReport(checked, previous_position, breaks, migrated_up_to)


def stored_rows(cursor: Any, table: str, after: int, batch: int = 5_000) -> Iterator[Row]:
    """The events after a position, in store order, read in batches by keyset."""
    query = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state, chain_digest "
        "FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(table=Identifier(table))
    while True:
        rows = cursor.execute(query, (after, batch), prepare=False).fetchall()
        for row in rows:
            yield (
                int(row["notification_id"]),
                row["originator_id"],
                int(row["originator_version"]),
                row["topic"],
                bytes(row["state"]) if row["state"] is not None else b"",
                bytes(row["chain_digest"]) if row["chain_digest"] is not None else None,
            )
        if len(rows) < batch:
            return
        after = int(rows[-1]["notification_id"])
