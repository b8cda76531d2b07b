"""A ticket's stored events as auditors and other services see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.ticket import Ticket

# The names other services and auditors know the Ticket aggregate's events by.
PUBLIC_TYPES: dict[str, str] = {
    "Submitted": "TicketSubmitted",
    "Accepted": "TicketAccepted",
    "Forwarded": "TicketForwarded",
    "HandlerReplied": "HandlerReplied",
    "UserReplied": "UserReplied",
    "Revoked": "TicketRevoked",
    "Restarted": "TicketRestarted",
    "Closed": "TicketClosed",
    "Rated": "TicketRated",
    "SlaBreached": "TicketSlaBreached",
    "StaffNoteAdded": "StaffNoteAdded",
}
# what exists for support staff only (CONTRACT.md §7): never in an answer to a user
STAFF_ONLY_TYPES = frozenset({"StaffNoteAdded"})
_ENVELOPE = {"originator_id", "originator_version", "originator_topic", "timestamp", "actor"}
_RENAMED = {"ticket_type": "type"}


@dataclass(frozen=True)
class HistoryEntry:
    """One stored event of a ticket: ``{version, type, occurred_at, actor, data}``."""

    version: int
    type: str
    occurred_at: datetime
    actor: dict[str, Any]
    data: dict[str, Any]


def public_type(domain_event: Any) -> str:
    """The public name of a Ticket event (``TicketSubmitted``, ``HandlerReplied``, ...)."""
    name = type(domain_event).__name__
    return PUBLIC_TYPES[name] if isinstance(domain_event, Ticket.Event) else name


def history_entry(domain_event: Any) -> HistoryEntry:
    """The public form of one stored ticket event."""
    fields = vars(domain_event)
    data = {_RENAMED.get(k, k): v for k, v in fields.items() if k not in _ENVELOPE}
    return HistoryEntry(
        version=domain_event.originator_version,
        type=public_type(domain_event),
        occurred_at=domain_event.timestamp,
        actor=dict(fields.get("actor") or {}),
        data=data,
    )
