"""Turn aggregates into the response shapes of CONTRACT.md §2.2."""

from __future__ import annotations

from typing import Any

from domain.actors import Actor
from domain.sla import SlaStatus
from domain.ticket import Ticket


def ticket_details(ticket: Ticket, actor: Actor, sla: SlaStatus) -> dict[str, Any]:
    """The ticket details document for this caller."""
    return {
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
        "messages": ticket.messages,
        "submitted_at": ticket.created_on,
        "updated_at": ticket.modified_on,
        "closed_at": ticket.closed_at,
        "version": ticket.version,
        "allowed_actions": [str(action) for action in ticket.allowed_actions(actor)],
        "sla": vars(sla),
    }


def handler_entries(handlers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The roster as a list sorted by account id."""
    return [{"account_id": account_id, **handlers[account_id]} for account_id in sorted(handlers)]
