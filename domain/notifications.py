"""Who is told what (CONTRACT.md §6.1): the notifications one stored fact yields.

A fact is a ticket event (by its public name, with the ticket as it stands after it) or a due
time a sweep noticed. Nobody is told of their own action. The follower that writes the
notifications (``projections.notifications``) asks here; no other place decides a recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.status import CloseReason

SUMMARY_MAX = 280
_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ticketing:notifications")


class Kind(StrEnum):
    """What a notification is about."""

    HANDLER_REPLIED = "handler_replied"
    TICKET_CLOSED = "ticket_closed"
    CLOSING_SOON = "closing_soon"
    RATING_REQUESTED = "rating_requested"
    TICKET_ASSIGNED = "ticket_assigned"
    USER_REPLIED = "user_replied"
    SLA_DUE_SOON = "sla_due_soon"
    SLA_BREACHED = "sla_breached"
    NOTE_ADDED = "note_added"


CLOSE_REASONS = {
    CloseReason.SUBMITTER: "You closed the ticket.",
    CloseReason.COMPLETED: "Support marked the ticket complete.",
    CloseReason.INACTIVITY: "Closed after 7 days without an answer.",
    CloseReason.ACCOUNT_CANCELLED: "Closed because the account was cancelled.",
    CloseReason.WORKSPACE_DISSOLVED: "Closed because the workspace was dissolved.",
}
# kinds told to the submitter: a user, who sees the ticket only while a member of its workspace
TO_SUBMITTER = frozenset(
    {Kind.HANDLER_REPLIED, Kind.TICKET_CLOSED, Kind.CLOSING_SOON, Kind.RATING_REQUESTED}
)
# closes after which the submitter can still open the ticket and rate it
RATEABLE_AFTER = frozenset({CloseReason.COMPLETED, CloseReason.INACTIVITY})
TARGET_NAMES = {"first_response": "First response", "resolution": "Resolution"}


class NotifiedTicket(Protocol):
    """What these rules read of a ticket (the aggregate as it stands after the fact)."""

    submitter: dict[str, Any]

    @property
    def assignee_id(self) -> str | None:
        """Account id of the handler the ticket is assigned to."""


@dataclass(frozen=True)
class Notice:
    """One recipient's notification of one fact: who, what kind, and a short summary."""

    recipient: str
    kind: Kind
    summary: str


def notification_id(source_id: UUID, version: int, kind: Kind, recipient: str) -> UUID:
    """The same fact and recipient always give the same id, so a redelivery is recognisable."""
    return uuid5(_ID_NAMESPACE, f"{source_id}:{version}:{kind}:{recipient}")


def summary(text: str) -> str:
    """At most ``SUMMARY_MAX`` characters of a message, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_MAX else flat[: SUMMARY_MAX - 1] + "…"


def of_ticket_event(
    event_type: str,
    actor_id: str,
    data: dict[str, Any],
    ticket: NotifiedTicket,
    admins: frozenset[str] = frozenset(),
) -> list[Notice]:
    """The notifications a stored ticket event yields (``admins``: every admin account, told
    of SLA breaches)."""
    submitter = str(ticket.submitter["account_id"])
    assignee = ticket.assignee_id
    notices: list[Notice] = []
    if event_type == "HandlerReplied" and not data.get("automatic"):
        notices.append(Notice(submitter, Kind.HANDLER_REPLIED, summary(data["body"])))
    elif event_type == "UserReplied" and assignee:
        notices.append(Notice(assignee, Kind.USER_REPLIED, summary(data["body"])))
    elif event_type in ("TicketSubmitted", "TicketRestarted", "TicketForwarded") and assignee:
        notices.append(Notice(assignee, Kind.TICKET_ASSIGNED, _assigned(event_type)))
    elif event_type == "TicketClosed":
        reason = CloseReason(data["reason"])
        notices.append(Notice(submitter, Kind.TICKET_CLOSED, CLOSE_REASONS[reason]))
        if reason in RATEABLE_AFTER:
            notices.append(Notice(submitter, Kind.RATING_REQUESTED, "How did we do? Rate it."))
    elif event_type == "TicketSlaBreached":
        text = f"{TARGET_NAMES.get(data['target'], data['target'])} time was missed."
        for recipient in sorted({*admins, *([assignee] if assignee else [])}):
            notices.append(Notice(recipient, Kind.SLA_BREACHED, text))
    elif event_type == "StaffNoteAdded" and assignee:
        notices.append(Notice(assignee, Kind.NOTE_ADDED, summary(data["body"])))
    return [notice for notice in notices if notice.recipient != actor_id]


def for_member_or_told_anyway(notice: Notice, close_reason: str | None, is_member: bool) -> bool:
    """Whether a notice may go out: a submitter who is no longer a member of the ticket's
    workspace cannot see the ticket (CONTRACT.md §1), so hears of it only that it was closed
    because the workspace was dissolved or the account cancelled (which says nothing of the
    conversation)."""
    if notice.kind not in TO_SUBMITTER or is_member:
        return True
    return notice.kind is Kind.TICKET_CLOSED and close_reason in (
        CloseReason.WORKSPACE_DISSOLVED,
        CloseReason.ACCOUNT_CANCELLED,
    )


def _assigned(event_type: str) -> str:
    return {
        "TicketSubmitted": "A new ticket is in your queue.",
        "TicketRestarted": "A restarted ticket is back in your queue.",
        "TicketForwarded": "A ticket was forwarded to you.",
    }[event_type]


def closing_soon(submitter: str, closes_at: datetime) -> Notice:
    """The submitter's warning a day before the inactivity close."""
    text = f"This ticket closes at {closes_at:%Y-%m-%d %H:%M} UTC unless you reply."
    return Notice(submitter, Kind.CLOSING_SOON, text)


def sla_due_soon(assignee: str, target: str, due_at: datetime) -> Notice:
    """The assignee's warning an hour of service time before a due time."""
    name = TARGET_NAMES.get(target, target)
    return Notice(assignee, Kind.SLA_DUE_SOON, f"{name} is due at {due_at:%Y-%m-%d %H:%M} UTC.")
