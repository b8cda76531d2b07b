"""The people and steps application tests share, whatever persistence the app runs on."""

from __future__ import annotations

from uuid import uuid4

from application.tickets import CommandResult, TicketingApp
from domain.actors import Actor, Role

ADMIN = Actor("root-admin", Role.ADMIN, "Root")
HANDLER = Actor("hank", Role.HANDLER, "Hank")
AUDITOR = Actor("audrey", Role.AUDITOR, "Audrey")


def user(name: str = "") -> Actor:
    """A new account with the user role."""
    account_id = name or f"user-{uuid4().hex[:8]}"
    return Actor(account_id, Role.USER, account_id.title())


def workspace_with(app: TicketingApp, *members: Actor) -> str:
    """A new workspace whose members are the given accounts."""
    workspace_id = f"ws-{uuid4().hex[:8]}"
    for member in members:
        app.platform.member_joined(workspace_id, member.account_id, str(uuid4()))
    return workspace_id


def submit(app: TicketingApp, actor: Actor, workspace_id: str, **fields: object) -> CommandResult:
    """Submit a bug report unless the fields say otherwise."""
    values: dict[str, object] = {
        "ticket_type": "bug",
        "title": "Dashboard crashes",
        "description": "It crashes when opened.",
    }
    values.update(fields)
    return app.submit(actor, workspace_id, **values)  # type: ignore[arg-type]
