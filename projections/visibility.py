"""Who may see which list (CONTRACT.md §1, Visibility): the scope a caller's list starts from,
or the refusal. The HTTP layer asks here; it holds no rule of its own."""

from __future__ import annotations

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
