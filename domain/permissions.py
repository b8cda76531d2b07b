"""Who may do what to a ticket, and from which status (CONTRACT.md §1)."""

from __future__ import annotations

from typing import Any, Protocol

from domain.actors import Actor, Role
from domain.errors import DomainError, InvalidTransition, NotAllowed
from domain.status import Action, Status

OPEN = frozenset(
    {Status.WAITING_FOR_ASSIGNMENT, Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED}
)
ALLOWED_FROM: dict[Action, frozenset[Status]] = {
    Action.REVOKE: frozenset({Status.WAITING_FOR_ASSIGNMENT}),
    Action.RESTART: frozenset({Status.REVOKED}),
    Action.CLOSE: frozenset({Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED}),
    Action.RATE: frozenset({Status.CLOSED}),
    Action.ACCEPT: frozenset({Status.WAITING_FOR_ASSIGNMENT}),
    Action.FORWARD: OPEN,
    Action.COMPLETE: OPEN,
}
USER_REPLY_FROM = OPEN
STAFF_REPLY_FROM = frozenset({Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED})
# a staff note (CONTRACT.md §7): from the statuses of a handler's reply, and after the close
NOTE_FROM = STAFF_REPLY_FROM | {Status.CLOSED}
SUBMITTER_ACTIONS = frozenset({Action.REVOKE, Action.RESTART, Action.CLOSE, Action.RATE})


class TicketFacts(Protocol):
    """What these rules read of a ticket."""

    status: str
    submitter: dict[str, Any]
    rating: dict[str, Any] | None

    @property
    def assignee_id(self) -> str | None:
        """Account id of the handler the ticket is assigned to."""


def is_submitter(ticket: TicketFacts, actor: Actor) -> bool:
    """Whether the actor is the user who submitted the ticket."""
    return actor.role is Role.USER and actor.account_id == ticket.submitter["account_id"]


def is_staff_for(ticket: TicketFacts, actor: Actor) -> bool:
    """Whether the actor is the ticket's assignee (a handler) or an admin."""
    return actor.role is Role.ADMIN or (
        actor.role is Role.HANDLER and actor.account_id == ticket.assignee_id
    )


def is_visible_to_staff(ticket: TicketFacts, actor: Actor) -> bool:
    """Its assignee, admins, auditors and the system see a ticket whatever their memberships
    (members of its workspace see it too: the application knows them)."""
    return actor.role in (Role.ADMIN, Role.AUDITOR, Role.SYSTEM) or (
        actor.account_id == ticket.assignee_id and actor.role is Role.HANDLER
    )


def sees_notes(actor: Actor) -> bool:
    """Whether staff notes exist for the actor: support staff, auditors and the system see
    them; to a user (a submitter, a workspace member) they do not exist (CONTRACT.md §7)."""
    return actor.role is not Role.USER


def note_refusal(ticket: TicketFacts, actor: Actor) -> DomainError | None:
    """Why this actor may not add a staff note to the ticket now; None if they may. Handlers
    and admins may (a handler who is not the assignee does not see the ticket, and is told it
    does not exist before this is asked)."""
    if actor.role not in (Role.HANDLER, Role.ADMIN):
        return NotAllowed("only handlers and admins may add staff notes")
    if ticket.status not in NOTE_FROM:
        return InvalidTransition(f"cannot add a note to a ticket that is {ticket.status}")
    return None


def refusal(ticket: TicketFacts, action: Action, actor: Actor) -> DomainError | None:
    """Why this actor may not take this action on the ticket now; None if they may."""
    if action is Action.REPLY:
        if is_submitter(ticket, actor):
            allowed = USER_REPLY_FROM
        elif is_staff_for(ticket, actor):
            allowed = STAFF_REPLY_FROM
        else:
            return NotAllowed("only the submitter, the assignee or an admin may reply")
    elif action in SUBMITTER_ACTIONS:
        if not is_submitter(ticket, actor):
            return NotAllowed(f"only the submitter may {action} this ticket")
        allowed = ALLOWED_FROM[action]
    else:
        if not is_staff_for(ticket, actor):
            return NotAllowed(f"only the assignee or an admin may {action} this ticket")
        allowed = ALLOWED_FROM[action]
    if ticket.status not in allowed:
        return InvalidTransition(f"cannot {action} a ticket that is {ticket.status}")
    if action is Action.RATE and ticket.rating is not None:
        return InvalidTransition("the ticket has been rated already")
    return None


def allowed_actions(ticket: TicketFacts, actor: Actor) -> list[Action]:
    """The commands this actor may issue on the ticket now."""
    return [action for action in Action if refusal(ticket, action, actor) is None]
