"""Snapshots sealed with a key the database does not hold (issue 42).

A snapshot is a shortcut: an aggregate's state at a version, so that loading it need not replay
every event before. The hash chain covers events, not snapshots, so whoever could write the
database could edit a ticket's snapshot (a handler's message that was never written) or a
workspace's (a member who never joined), and it was served. Each snapshot is now stored with
an HMAC-SHA256 of its aggregate id, version, topic and state, under a key derived from the
service's secret (configuration, never the database). A snapshot whose seal does not hold, or
that has none (taken before sealing, or written by someone without the key), is passed over:
the aggregate is loaded from its events, as if there were no snapshot, and the log says so.
``ticketing audit verify`` checks every seal, and rebuilds from its events the aggregate of
every snapshot whose seal does not hold to compare (``snapshot_finding``): one taken before
sealing, or under an earlier secret, passes if it equals its events.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import (
    AggregateRecorder,
    EventStore,
    Mapper,
    Recording,
    StoredEvent,
)

log = logging.getLogger(__name__)

SEAL = b"\x00seal:"  # between a sealed snapshot's state and its HMAC
SEAL_LENGTH = len(SEAL) + hashlib.sha256().digest_size


def seal_of(key: bytes, stored: StoredEvent) -> bytes:
    """The HMAC of a stored snapshot: its id, version and topic bind it to its place."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(f"{stored.originator_id}\n{stored.originator_version}\n{stored.topic}\n".encode())
    mac.update(stored.state)
    return mac.digest()


def sealed(key: bytes, stored: StoredEvent) -> StoredEvent:
    """The stored snapshot with its seal after its state."""
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state + SEAL + seal_of(key, stored),
    )


def opened(key: bytes, stored: StoredEvent) -> StoredEvent | None:
    """The stored snapshot without its seal if the seal holds; None if it has none or it
    does not hold."""
    if len(stored.state) < SEAL_LENGTH:
        return None
    state, rest = stored.state[:-SEAL_LENGTH], stored.state[-SEAL_LENGTH:]
    marker, mac = rest[: len(SEAL)], rest[len(SEAL) :]
    if marker != SEAL:
        return None
    bare = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=state,
    )
    return bare if hmac.compare_digest(mac, seal_of(key, bare)) else None


class SealedSnapshots(EventStore[UUID]):
    """The snapshot store: every snapshot put is sealed; only those whose seal holds are
    got."""

    def __init__(self, mapper: Mapper[UUID], recorder: AggregateRecorder, key: bytes) -> None:
        super().__init__(mapper, recorder)
        self.key = key

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list[Recording[UUID]]:
        """Store snapshots, sealed (no notification ids: snapshots have none)."""
        stored = [sealed(self.key, self.mapper.to_stored_event(e)) for e in domain_events]
        self.recorder.insert_events(stored, **kwargs)
        return []

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """The snapshots asked for whose seals hold (one that does not is logged)."""
        for stored in self.recorder.select_events(
            originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        ):
            bare = opened(self.key, stored)
            if bare is None:
                log.warning(
                    "snapshot of %s at version %d has no valid seal: passed over, the "
                    "aggregate is loaded from its events",
                    stored.originator_id,
                    stored.originator_version,
                )
                continue
            yield self.mapper.to_domain_event(bare)


def snapshot_finding(
    key: bytes, stored: StoredEvent, mapper: Mapper[UUID], events: EventStore[UUID]
) -> str | None:
    """What is wrong with one stored snapshot, or None. One whose seal holds is as it was
    taken. Any other (taken before sealing, or sealed under an earlier secret, or edited) is
    passed over when served, and is wrong here only if its state is not what its events give
    at its version."""
    if opened(key, stored) is not None:
        return None
    state = stored.state
    if state[-SEAL_LENGTH : -SEAL_LENGTH + len(SEAL)] == SEAL:
        state = state[:-SEAL_LENGTH]
    bare = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=state,
    )
    taken: Any = mapper.to_domain_event(bare)
    rebuilt: Any = Repository(event_store=events).get(
        UUID(str(stored.originator_id)), version=stored.originator_version
    )
    again = mapper.to_stored_event(type(taken).take(rebuilt))
    decode = mapper.transcoder.decode
    if decode(again.state)["state"] == decode(state)["state"]:
        return None
    return (
        f"snapshot of {stored.originator_id} at version {stored.originator_version}: not what "
        "its events give, and no seal of this service's key vouches for it (edited)"
    )
