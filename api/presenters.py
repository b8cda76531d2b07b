"""Turn aggregates into the response shapes of CONTRACT.md §2.2."""

from __future__ import annotations

from typing import Any

from domain import permissions
from domain.actors import Actor
from domain.sla import SlaStatus
from domain.ticket import Ticket

LATEST_MESSAGES = 100  # CONTRACT.md §2.0: details carry the latest 100 messages


def ticket_details(ticket: Ticket, actor: Actor, sla: SlaStatus) -> dict[str, Any]:
    """The ticket details document for this caller: staff and auditors get the staff notes
    and may be offered to add one; to a user notes do not exist, not even as a version."""
    document = {
        "id": str(ticket.id),
        "number": ticket.number,
        "workspace_id": ticket.workspace_id,
        "type": ticket.ticket_type,
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status,
        "queue_state": str(ticket.queue_state),
        "submitter": ticket.submitter,
        "assignee": ticket.assignee,
        "verified_email": ticket.verified_email,
        "attachments": ticket.attachments,
        "close_reason": ticket.close_reason,
        "rating": ticket.rating,
        "messages": ticket.messages[-LATEST_MESSAGES:],
        "messages_total": len(ticket.messages),
        "submitted_at": ticket.created_on,
        "updated_at": ticket.updated_for(actor),
        "closed_at": ticket.closed_at,
        "version": ticket.version_for(actor),
        "allowed_actions": [str(action) for action in ticket.allowed_actions(actor)],
        "sla": vars(sla),
    }
    if permissions.sees_notes(actor):
        document["notes"] = list(ticket.notes)
        document["can_add_note"] = permissions.note_refusal(ticket, actor) is None
    return document


def handler_entries(handlers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The roster as a list sorted by account id."""
    return [{"account_id": account_id, **handlers[account_id]} for account_id in sorted(handlers)]


def message_page(ticket: Ticket, start: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Messages ``start`` to ``start + limit``, oldest first, and where the next page starts
    (None on the last). Messages are only ever appended, so a position stays put."""
    page = ticket.messages[start : start + limit]
    after = start + len(page)
    return page, after if after < len(ticket.messages) else None
