"""Small builders so each unit test reads as a short story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from domain.actors import Actor, Role
from domain.status import Status
from domain.ticket import Ticket

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)

SUBMITTER = Actor("alice", Role.USER, "Alice")
OTHER_MEMBER = Actor("bob", Role.USER, "Bob")
ASSIGNEE = Actor("hank", Role.HANDLER, "Hank")
OTHER_HANDLER = Actor("olga", Role.HANDLER, "Olga")
ADMIN = Actor("root", Role.ADMIN, "Root")
AUDITOR = Actor("audrey", Role.AUDITOR, "Audrey")
DEFAULT_ASSIGNEE = {"account_id": "hank", "name": "Hank"}

_numbers = count(1)


def attachment(n: int = 1) -> dict[str, Any]:
    """Metadata of an uploaded file, as events record it."""
    return {
        "id": f"att-{n}",
        "filename": f"form-{n}.pdf",
        "content_type": "application/pdf",
        "size": 100,
        "sha256": "0" * 64,
    }


def new_ticket(**overrides: Any) -> Ticket:
    """A freshly submitted bug report by SUBMITTER, assigned to ASSIGNEE."""
    fields: dict[str, Any] = {
        "allocate_number": lambda: next(_numbers),
        "workspace_id": "w1",
        "ticket_type": "bug",
        "title": "Dashboard crashes",
        "description": "It crashes when I open it.",
        "submitter": SUBMITTER,
        "assignee": DEFAULT_ASSIGNEE,
        "at": T0,
    }
    fields.update(overrides)
    return Ticket.submit(**fields)


def ticket_in(status: Status) -> Ticket:
    """A ticket brought to a status through the commands users issue."""
    ticket = new_ticket()
    if status is Status.REVOKED:
        ticket.revoke(SUBMITTER, at=T0)
    elif status is not Status.WAITING_FOR_ASSIGNMENT:
        ticket.accept(ASSIGNEE, at=T0)
        if status is Status.FEEDBACK_PROVIDED:
            ticket.reply(ASSIGNEE, "Try clearing the cache.", at=T0)
        elif status is Status.CLOSED:
            ticket.complete(ASSIGNEE, at=T0)
    assert ticket.status == status
    ticket.collect_events()
    return ticket
