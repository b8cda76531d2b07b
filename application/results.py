"""What ticket commands take and give back besides the domain's own values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.records import AttachmentReference
from domain.ticket import Ticket


@dataclass(frozen=True)
class CommandResult:
    """What a ticket command left behind: the new state and the store position it reached.

    ``replayed`` is true when an idempotency key matched an earlier identical request: the
    result is that request's, and nothing new was recorded.
    """

    ticket: Ticket
    position: int
    message_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key`` and a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Change:
    """What a ticket command produced besides events: a message and the files it attached."""

    message_id: str | None = None
    references: Sequence[AttachmentReference] = ()
