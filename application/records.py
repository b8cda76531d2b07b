"""What a command may write in its events' transaction besides the events (``Ledger``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class OutboxMessage:
    """A message to publish on a channel (mapped to a topic by the publisher)."""

    channel: str
    key: str
    payload: dict[str, Any]
    id: int = 0


@dataclass(frozen=True)
class AttachmentReference:
    """An uploaded file attached to a ticket (and to one of its messages or notes, if not at
    submission); a note's files are for staff only (``staff_only``)."""

    attachment_id: UUID
    ticket_id: UUID
    message_id: str | None
    staff_only: bool = False


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


@dataclass(frozen=True)
class TicketOwner:
    """The workspace and account a new ticket is filed under (its submission's gates)."""

    ticket_id: UUID
    workspace_id: str
    account_id: str


@dataclass(frozen=True)
class Gate:
    """A workspace or an account whose gate is closing (dissolved, cancelled)."""

    kind: str
    key: str


@dataclass(frozen=True)
class Alongside:
    """Everything a command writes in its events' transaction besides the events."""

    idempotency: IdempotencyRecord | None = None
    consumed: ConsumedOffset | None = None
    outbox: Sequence[OutboxMessage] = ()
    verification_request: VerificationRequest | None = None
    attachment_references: Sequence[AttachmentReference] = ()
    ticket_owner: TicketOwner | None = None
    gate: Gate | None = None
    platform_event_id: str | None = None
    # aggregates the command read but does not write, at the versions it read: the commit
    # fails (and the command is retried) if any of them changed meanwhile
    unchanged: tuple[tuple[UUID, int], ...] = ()


NOTHING_ELSE = Alongside()
