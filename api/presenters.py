"""Turn aggregates into the response shapes of CONTRACT.md §2.2."""

from __future__ import annotations

from typing import Any

from domain import permissions
from domain.actors import Actor
from domain.sla import SlaStatus
from domain.ticket import Ticket

LATEST_MESSAGES = 100  # CONTRACT.md §2.0: details carry the latest 100 messages


Names = dict[str, str]  # account id -> the roster's name


def named(person: dict[str, Any] | None, names: Names) -> dict[str, Any] | None:
    """``person`` (``{account_id, name, ...}``) under the name people know them by: the
    roster's, else the one recorded (the token's); the console shows the id when both are
    empty (CONTRACT.md §5)."""
    if person is None:
        return None
    name = names.get(person["account_id"])
    return person if not name or name == person.get("name") else {**person, "name": name}


def _authored(entries: list[dict[str, Any]], names: Names) -> list[dict[str, Any]]:
    return [
        entry if (author := named(entry["author"], names)) is entry["author"]
        else {**entry, "author": author}
        for entry in entries
    ]  # fmt: skip


def ticket_details(
    ticket: Ticket, actor: Actor, sla: SlaStatus, names: Names | None = None
) -> dict[str, Any]:
    """The ticket details document for this caller: staff and auditors get the staff notes
    and may be offered to add one; to a user notes do not exist, not even as a version.
    People carry their roster names (``names``)."""
    names = names or {}
    document = {
        "id": str(ticket.id),
        "number": ticket.number,
        "workspace_id": ticket.workspace_id,
        "type": ticket.ticket_type,
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status,
        "queue_state": str(ticket.queue_state),
        "submitter": named(ticket.submitter, names),
        "assignee": named(ticket.assignee, names),
        "verified_email": ticket.verified_email,
        "attachments": ticket.attachments,
        "close_reason": ticket.close_reason,
        "rating": ticket.rating,
        "messages": _authored(ticket.messages[-LATEST_MESSAGES:], names),
        "messages_total": len(ticket.messages),
        "submitted_at": ticket.created_on,
        "updated_at": ticket.updated_for(actor),
        "closed_at": ticket.closed_at,
        "version": ticket.version_for(actor),
        "allowed_actions": [str(action) for action in ticket.allowed_actions(actor)],
        "sla": vars(sla),
    }
    if permissions.sees_notes(actor):
        document["notes"] = _authored(list(ticket.notes), names)
        document["can_add_note"] = permissions.note_refusal(ticket, actor) is None
    return document


def handler_entries(handlers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The roster as a list sorted by account id."""
    return [{"account_id": account_id, **handlers[account_id]} for account_id in sorted(handlers)]


def message_page(
    ticket: Ticket, start: int, limit: int, names: Names | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Messages ``start`` to ``start + limit``, oldest first, and where the next page starts
    (None on the last). Messages are only ever appended, so a position stays put."""
    page = _authored(ticket.messages[start : start + limit], names or {})
    after = start + len(page)
    return page, after if after < len(ticket.messages) else None
