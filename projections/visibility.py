"""Who may see which list (CONTRACT.md §1, Visibility): the scope a caller's list starts from,
or the refusal. The HTTP layer asks here; it holds no rule of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain import permissions
from domain.actors import Actor, Role
from domain.errors import NotAllowed
from projections.queries import Scope


def all_tickets(actor: Actor, workspace_id: str, *, is_member: bool) -> Scope:
    """All Tickets of a workspace: its current members only."""
    if not is_member:
        raise NotAllowed("only current members of the workspace see its tickets")
    return Scope.workspace(workspace_id)


def my_tickets(actor: Actor) -> Scope:
    """My Tickets: the caller's own, in the workspaces the caller is a current member of."""
    return Scope.mine(actor.account_id)


def queue(actor: Actor) -> Scope:
    """The tickets assigned to the caller: handlers and admins have a queue."""
    if actor.role not in (Role.HANDLER, Role.ADMIN):
        raise NotAllowed("only handlers and admins have a ticket queue")
    return Scope.assigned_to(actor.account_id)


def every_ticket(actor: Actor) -> Scope:
    """Every ticket on the platform: admins and auditors."""
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        raise NotAllowed("only admins and auditors see every ticket")
    return Scope.everything()


@dataclass
class TicketChange:
    """A ticket as one of its events left it, as the live streams receive it (the ticket
    feed's row): what the ``ticket`` event says, and what deciding its audience needs."""

    position: int
    ticket_id: UUID
    version: int
    status: str
    workspace_id: str
    submitter: dict[str, Any]
    assignee_id: str | None
    rating: dict[str, Any] | None = None
    staff_only: bool = False  # a staff note: users do not hear of it
    user_version: int | None = None  # the version as users count it (without notes)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TicketChange:
        """From a ``ticket_feed`` row."""
        return cls(
            position=int(row["position"]),
            ticket_id=row["ticket_id"],
            version=int(row["version"]),
            status=str(row["status"]),
            workspace_id=str(row["workspace_id"]),
            submitter={"account_id": row["submitter_id"]},
            assignee_id=row["assignee_id"],
            staff_only=bool(row.get("staff_only", False)),
            user_version=None if row.get("user_version") is None else int(row["user_version"]),
        )

    def as_event(self, for_users: bool = False) -> dict[str, Any]:
        """The ``ticket`` event's data (CONTRACT.md §6.3), and the ticket's workspace (for a
        list to tell whether the change is one of its own); ``for_users``: the version as
        users count it (``Ticket.version_for``; a row written before it was kept: the
        store's)."""
        users = for_users and self.user_version is not None
        return {
            "ticket_id": str(self.ticket_id),
            "version": self.user_version if users else self.version,
            "status": self.status,
            "workspace_id": self.workspace_id,
        }


def sees_change(actor: Actor, change: TicketChange, is_member: bool) -> bool:
    """Whether a change reaches the actor's stream: exactly when the actor may read the
    ticket's details (CONTRACT.md §1): by role (``domain.permissions``), or as a current member
    of its workspace (``is_member``, from the memberships read model); a staff-only change (a
    note) never reaches a user's stream (``domain.permissions.sees_notes``)."""
    if change.staff_only and not permissions.sees_notes(actor):
        return False
    return permissions.is_visible_to_staff(change, actor) or (actor.role is Role.USER and is_member)
