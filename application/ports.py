"""The application's ports: what it needs from persistence besides the event store itself.

Each has a PostgreSQL implementation (production, integration tests) and an in-memory one
(``application.memory``: application tests in ``tests/unit``). A use case depends on these
interfaces only; which implementations it gets is decided where the store is built.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.blobs import BlobStore
from application.records import ConsumedOffset, Gate, IdempotencyRecord, OutboxMessage

Record = dict[str, Any]


@dataclass(frozen=True)
class StoredAttachment:
    """An upload's metadata, who uploaded it, and where it is attached (if it is)."""

    record: Record
    uploader_id: str
    ticket_id: UUID | None
    staff_only: bool = False  # attached to a staff note


class PublisherTurn(Protocol):
    """A publisher's position while it is this publisher's turn to send what follows it."""

    position: int

    def advance(self, position: int) -> None:
        """Move the position on (kept once the turn ends without an error)."""


class Ledger(Protocol):
    """What the recorder keeps beside the events (written in the events' transaction)."""

    def find_idempotency(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The record of a key this account used before, if any."""

    def record_offset(self, consumed: ConsumedOffset) -> None:
        """Move a consumer on past a message that changed nothing."""

    def consumer_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The next offset to read, per (topic, partition), for a consumer group."""

    def publisher_position(self, publisher: str) -> int:
        """The last notification id a publisher has sent (0 before the first)."""

    def set_publisher_position(self, publisher: str, position: int) -> None:
        """Record that everything up to ``position`` has been sent."""

    def forget_broker_positions(self) -> None:
        """Forget every consumer offset and publisher position (a new, empty broker)."""

    def was_applied(self, platform_event_id: str) -> bool:
        """Whether a platform event was applied before."""

    def tickets_owned(self, gate: Gate) -> list[UUID]:
        """Every ticket filed under a workspace or an account."""

    def recent_verification_requests(self, account_id: str, since: datetime) -> list[datetime]:
        """When an account asked for verifications since a moment, oldest first."""

    def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest outbox messages, in the order they were written."""

    def publisher_turn(self, publisher: str) -> AbstractContextManager[PublisherTurn | None]:
        """This publisher's position for the block, or None while another has its turn."""

    def claimed_outbox(self, limit: int) -> AbstractContextManager[list[OutboxMessage]]:
        """The oldest outbox messages nobody else holds; deleted when the block succeeds."""


class AttachmentIndex(Protocol):
    """Uploads' metadata and uploaders; where each is attached comes from the ledger's
    attachment references, written with the command that attaches it."""

    def add(self, record: Record, uploader_id: str, at: datetime) -> None:
        """Index a new upload."""

    def find(self, attachment_id: UUID) -> StoredAttachment | None:
        """An upload and where it is attached, if it exists."""

    def delete_unattached(self, uploaded_before: datetime) -> tuple[int, set[str]]:
        """Forget uploads never attached; how many, and the hashes nothing uses any more."""


class TicketNumbers(Protocol):
    """Hands out ticket numbers: positive, unique, increasing, never reused."""

    def allocate(self) -> int:
        """The next number."""


class Infrastructure(Protocol):
    """What the event store's persistence factory builds besides the recorders."""

    def ledger(self) -> Ledger:
        """Reads and bookkeeping on what the recorder keeps beside the events."""

    def ticket_numbers(self) -> TicketNumbers:
        """The ticket number allocator."""

    def attachment_index(self) -> AttachmentIndex:
        """The attachment index."""

    def blob_store(self) -> BlobStore:
        """The default store of attachment bytes."""

    def ping(self) -> None:
        """Raise unless the persistence answers."""
