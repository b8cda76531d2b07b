"""In-memory persistence: the event store and every port, in one process, no PostgreSQL.

For application tests (``tests/unit``), in the style of the service-layer tests of
"Architecture Patterns with Python": the use cases run unchanged on eventsourcing's POPO
recorder, extended here with what the PostgreSQL recorder writes in an event's transaction.
Everything a command writes is checked first and then applied under the recorder's lock, so a
command is all or nothing here too, and the same conflicts raise ``IntegrityError``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from application.gates import ACCOUNT, WORKSPACE, GateClosed
from application.ports import (
    AttachmentIndex,
    Ledger,
    PublisherTurn,
    Record,
    StoredAttachment,
    TicketNumbers,
)
from application.records import (
    NOTHING_ELSE,
    Alongside,
    AttachmentReference,
    ConsumedOffset,
    Gate,
    IdempotencyRecord,
    OutboxMessage,
    TicketOwner,
    VerificationRequest,
)

PERSISTENCE_MODULE = f"{__name__}:InMemoryFactory"


class InMemoryTicketingRecorder(POPOApplicationRecorder):
    """eventsourcing's in-memory recorder with the ticketing ledger (``application.ports``)."""

    def __init__(self) -> None:
        super().__init__()
        self._idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self._offsets: dict[tuple[str, str, int], int] = {}
        self._publishers: dict[str, int] = {}
        self._outbox: dict[int, OutboxMessage] = {}
        self._outbox_ids = itertools.count(1)
        self._claimed: set[int] = set()
        self._turns: dict[str, threading.Lock] = {}
        self._verification_requests: list[VerificationRequest] = []
        self.references: dict[UUID, AttachmentReference] = {}
        self._closed_gates: set[tuple[str, str]] = set()
        self._owners: dict[UUID, TicketOwner] = {}
        self._applied: set[str] = set()

    def _assert_uniqueness(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> None:
        owner = alongside.ticket_owner
        if owner is not None:
            for gate in ((WORKSPACE, owner.workspace_id), (ACCOUNT, owner.account_id)):
                if gate in self._closed_gates:
                    raise GateClosed.of(gate[0])
            if owner.ticket_id in self._owners:
                raise IntegrityError(f"ticket {owner.ticket_id} filed twice")
        super()._assert_uniqueness(stored_events, **kwargs)
        key = alongside.idempotency
        if key is not None and (key.account_id, key.key) in self._idempotency:
            raise IntegrityError(f"idempotency key {key.key} used concurrently")
        if any(r.attachment_id in self.references for r in alongside.attachment_references):
            raise IntegrityError("an attachment attached twice")
        for aggregate_id, version in alongside.unchanged:
            if max(self._stored_events_index[str(aggregate_id)], default=0) > version:
                raise IntegrityError(f"aggregate {aggregate_id} changed since it was read")
        if alongside.platform_event_id in self._applied:
            raise IntegrityError(f"platform event {alongside.platform_event_id} applied twice")

    def _update_table(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        alongside: Alongside = NOTHING_ELSE,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        notification_ids = super()._update_table(stored_events, **kwargs) or []
        if alongside.ticket_owner is not None:
            self._owners[alongside.ticket_owner.ticket_id] = alongside.ticket_owner
        if alongside.gate is not None:
            self._closed_gates.add((alongside.gate.kind, alongside.gate.key))
        if alongside.platform_event_id is not None:
            self._applied.add(alongside.platform_event_id)
        for reference in alongside.attachment_references:
            self.references[reference.attachment_id] = reference
        if alongside.consumed is not None:
            self._advance(alongside.consumed)
        for message in alongside.outbox:
            number = next(self._outbox_ids)
            self._outbox[number] = replace(message, id=number)
        if alongside.verification_request is not None:
            self._verification_requests.append(alongside.verification_request)
        if alongside.idempotency is not None:
            record = replace(alongside.idempotency, position=max(notification_ids, default=0))
            self._idempotency[(record.account_id, record.key)] = record
        return notification_ids

    def _advance(self, consumed: ConsumedOffset) -> None:
        key = (consumed.group, consumed.topic, consumed.partition)
        self._offsets[key] = max(self._offsets.get(key, 0), consumed.next_offset)

    def find_idempotency(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The record of a key this account used before, if any."""
        with self._database_lock:
            return self._idempotency.get((account_id, key))

    def record_offset(self, consumed: ConsumedOffset) -> None:
        """Move a consumer on past a message that changed nothing."""
        with self._database_lock:
            self._advance(consumed)

    def consumer_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The next offset to read, per (topic, partition), for a consumer group."""
        with self._database_lock:
            return {(t, p): n for (g, t, p), n in self._offsets.items() if g == group}

    def publisher_position(self, publisher: str) -> int:
        """The last notification id a publisher has sent (0 before the first)."""
        with self._database_lock:
            return self._publishers.get(publisher, 0)

    def set_publisher_position(self, publisher: str, position: int) -> None:
        """Record that everything up to ``position`` has been sent."""
        with self._database_lock:
            self._publishers[publisher] = position

    def forget_broker_positions(self) -> None:
        """Forget every consumer offset and publisher position (a new, empty broker)."""
        with self._database_lock:
            self._offsets.clear()
            self._publishers.clear()

    def was_applied(self, platform_event_id: str) -> bool:
        """Whether a platform event was applied before."""
        with self._database_lock:
            return platform_event_id in self._applied

    def tickets_owned(self, gate: Gate) -> list[UUID]:
        """Every ticket filed under a workspace or an account, oldest first."""
        with self._database_lock:
            owners = list(self._owners.values())
        if gate.kind == WORKSPACE:
            return [o.ticket_id for o in owners if o.workspace_id == gate.key]
        return [o.ticket_id for o in owners if o.account_id == gate.key]

    def recent_verification_requests(self, account_id: str, since: datetime) -> list[datetime]:
        """When an account asked for verifications since a moment, oldest first."""
        with self._database_lock:
            requests = list(self._verification_requests)
        return sorted(
            r.requested_at
            for r in requests
            if r.account_id == account_id and r.requested_at > since
        )

    def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest outbox messages, in the order they were written."""
        with self._database_lock:
            return [self._outbox[n] for n in sorted(self._outbox)[:limit]]

    @contextmanager
    def publisher_turn(self, publisher: str) -> Iterator[PublisherTurn | None]:
        """This publisher's position for the block, or None while another has its turn."""
        with self._database_lock:
            lock = self._turns.setdefault(publisher, threading.Lock())
        if not lock.acquire(blocking=False):
            yield None
            return
        try:
            turn = _Turn(self.publisher_position(publisher))
            yield turn
            self.set_publisher_position(publisher, turn.position)
        finally:
            lock.release()

    @contextmanager
    def claimed_outbox(self, limit: int) -> Iterator[list[OutboxMessage]]:
        """The oldest outbox messages nobody else holds; deleted when the block succeeds."""
        with self._database_lock:
            free = [n for n in sorted(self._outbox) if n not in self._claimed][:limit]
            self._claimed.update(free)
        try:
            yield [self._outbox[n] for n in free]
            with self._database_lock:
                for number in free:
                    del self._outbox[number]
        finally:
            with self._database_lock:
                self._claimed.difference_update(free)


class _Turn:
    """A publisher's position during its turn."""

    def __init__(self, position: int) -> None:
        self.position = position

    def advance(self, position: int) -> None:
        """Move the position on (kept once the turn ends without an error)."""
        self.position = position


class InMemoryAttachmentIndex:
    """Uploads in a dict; where each is attached from the recorder's references."""

    def __init__(self, recorder: InMemoryTicketingRecorder) -> None:
        self._recorder = recorder
        self._uploads: dict[UUID, tuple[Record, str, datetime]] = {}
        self._lock = threading.Lock()

    def add(self, record: Record, uploader_id: str, at: datetime) -> None:
        """Index a new upload."""
        with self._lock:
            self._uploads[UUID(record["id"])] = (dict(record), uploader_id, at)

    def find(self, attachment_id: UUID) -> StoredAttachment | None:
        """An upload and where it is attached, if it exists."""
        with self._lock:
            upload = self._uploads.get(attachment_id)
        if upload is None:
            return None
        reference = self._recorder.references.get(attachment_id)
        if reference is None:
            return StoredAttachment(dict(upload[0]), upload[1], None)
        return StoredAttachment(
            dict(upload[0]), upload[1], reference.ticket_id, reference.staff_only
        )

    def delete_unattached(self, uploaded_before: datetime) -> tuple[int, set[str]]:
        """Forget uploads never attached; how many, and the hashes nothing uses any more."""
        with self._lock:
            gone = [
                key
                for key, (_, _, at) in self._uploads.items()
                if at < uploaded_before and key not in self._recorder.references
            ]
            hashes = {self._uploads.pop(key)[0]["sha256"] for key in gone}
            still_used = {record["sha256"] for record, _, _ in self._uploads.values()}
        return len(gone), hashes - still_used


class InMemoryTicketNumbers:
    """Ticket numbers from a counter."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def allocate(self) -> int:
        """The next number."""
        with self._lock:
            return next(self._numbers)


class InMemoryBlobStore:
    """Attachment bytes in a dict."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, sha256: str, content: bytes) -> None:
        """Store content (storing the same content twice is harmless)."""
        self._blobs[sha256] = content

    def get(self, sha256: str) -> bytes:
        """The content, or KeyError."""
        return self._blobs[sha256]

    def delete(self, sha256: str) -> None:
        """Forget content nothing refers to any more."""
        self._blobs.pop(sha256, None)


class InMemoryFactory(POPOFactory):
    """eventsourcing's in-memory factory, building the ticketing recorder and ports."""

    def application_recorder(self) -> ApplicationRecorder:
        """The in-memory ticketing recorder (one per application)."""
        self._recorder = InMemoryTicketingRecorder()
        return self._recorder

    def ledger(self) -> Ledger:
        """The recorder itself keeps the ledger in memory."""
        return self._recorder

    def ticket_numbers(self) -> TicketNumbers:
        """Numbers from a counter."""
        return InMemoryTicketNumbers()

    def attachment_index(self) -> AttachmentIndex:
        """Uploads in memory, attached per the recorder's references."""
        return InMemoryAttachmentIndex(self._recorder)

    def blob_store(self) -> InMemoryBlobStore:
        """Bytes in memory."""
        return InMemoryBlobStore()

    def ping(self) -> None:
        """Memory always answers."""
