"""Events signed with a key the database does not hold (issue 42).

The hash chain proves that no event was edited, removed or inserted before the last checkpoint
the worker published outside the database; after it, whoever could write the database could
append an event (the chain's trigger chains it like any other) or edit one and recompute the
tail. Each event is therefore also signed as it is stored: an HMAC-SHA256 of its aggregate id,
version, topic and state under ``TICKETING_SIGNING_KEY`` (configuration, never the database),
written to ``event_signatures`` in the transaction that writes the event. ``audit verify``
checks every signature: an event without one (after the first signed event) was not written by
the service, and one whose signature does not hold was edited, before or after a checkpoint.

What remains: removing the newest events (and their signatures) after the last checkpoint
leaves no trace in what is left; and events stored before signing began are proven by the
chain alone (verify says from which position on every event is signed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow

SIGNATURES_TABLE = "event_signatures"
DDL = (
    f"CREATE TABLE IF NOT EXISTS {SIGNATURES_TABLE} (originator_id uuid NOT NULL, "
    "originator_version bigint NOT NULL, signature bytea NOT NULL, "
    "PRIMARY KEY (originator_id, originator_version))",
)


def signature(key: bytes, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The HMAC of one stored event, bound to its place (aggregate and version)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(UUID(str(originator_id)).bytes)
    mac.update(version.to_bytes(8, "big", signed=True))
    mac.update(topic.encode())
    mac.update(b"\n")
    mac.update(hashlib.sha256(state).digest())
    return mac.digest()


def sign(curs: Cursor[DictRow], key: bytes, stored_events: Sequence[StoredEvent]) -> None:
    """Write the signatures of the events the transaction stores (in one statement)."""
    ids, versions, signatures = [], [], []
    for event in stored_events:
        ids.append(UUID(str(event.originator_id)))
        versions.append(event.originator_version)
        signatures.append(
            signature(key, ids[-1], event.originator_version, event.topic, event.state)
        )
    curs.execute(
        f"INSERT INTO {SIGNATURES_TABLE} (originator_id, originator_version, signature) "  # noqa: S608 - fixed text
        "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[])",
        (ids, versions, signatures),
    )


def checkpoint_mac(key: bytes, position: int, digest: bytes, at: datetime) -> bytes:
    """The HMAC of a kept checkpoint (``audit_checkpoints``), so that the API serves none a
    database writer made up (the broker's copy stays the proof ``audit verify`` reads)."""
    micros = round(at.timestamp() * 1_000_000)
    message = b"checkpoint\n%d\n%s\n%d" % (position, digest.hex().encode(), micros)
    return hmac.new(key, message, hashlib.sha256).digest()
