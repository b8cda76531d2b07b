"""The Ticket aggregate: every transition of CONTRACT.md §1 and who may make it.

Public command methods check first (``_refusal``) and only then trigger the event;
the decorated ``_record_*`` methods are the state changes, replayed as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from domain import content
from domain.actors import SYSTEM, Actor, Role
from domain.errors import DomainError, InvalidTransition, NotAllowed, ValidationFailed
from domain.status import QUEUE_STATE, Action, CloseReason, QueueState, Status
from domain.ticket_types import TYPE_INFO

INACTIVITY_LIMIT = timedelta(hours=168)
ACKNOWLEDGEMENT = (
    "Thank you for contacting support. We have received your ticket and will reply "
    "as soon as possible within our service hours."
)

_OPEN = frozenset(
    {Status.WAITING_FOR_ASSIGNMENT, Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED}
)
_ALLOWED_FROM: dict[Action, frozenset[Status]] = {
    Action.REVOKE: frozenset({Status.WAITING_FOR_ASSIGNMENT}),
    Action.RESTART: frozenset({Status.REVOKED}),
    Action.CLOSE: frozenset({Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED}),
    Action.RATE: frozenset({Status.CLOSED}),
    Action.ACCEPT: frozenset({Status.WAITING_FOR_ASSIGNMENT}),
    Action.FORWARD: _OPEN,
    Action.COMPLETE: _OPEN,
}
_USER_REPLY_FROM = _OPEN
_STAFF_REPLY_FROM = frozenset({Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED})
_SUBMITTER_ACTIONS = frozenset({Action.REVOKE, Action.RESTART, Action.CLOSE, Action.RATE})

Record = dict[str, Any]


class Ticket(Aggregate):
    """A support request of one submitter in one workspace, and its conversation."""

    @event("Submitted")
    def __init__(
        self,
        *,
        number: int,
        workspace_id: str,
        ticket_type: str,
        title: str,
        description: str,
        submitter: Record,
        assignee: Record,
        verified_email: str | None,
        attachments: list[Record],
        actor: Record,
        timestamp: datetime,
    ) -> None:
        self.number = number
        self.workspace_id = workspace_id
        self.ticket_type = ticket_type
        self.title = title
        self.description = description
        self.submitter = submitter
        self.assignee: Record | None = assignee
        self.verified_email = verified_email
        self.attachments = attachments
        self.status = Status.WAITING_FOR_ASSIGNMENT.value
        self.timeline: list[Record] = [{"at": timestamp, "status": self.status}]
        self.first_responded_at: datetime | None = None
        self.messages: list[Record] = []
        self.close_reason: str | None = None
        self.rating: Record | None = None
        self.closed_at: datetime | None = None
        self.feedback_provided_since: datetime | None = None
        self.reminded_at: datetime | None = None
        self.sla_breaches: list[str] = []

    # ----------------------------------------------------------------- commands

    @classmethod
    def submit(
        cls,
        *,
        allocate_number: Callable[[], int],
        workspace_id: str,
        ticket_type: object,
        title: object,
        description: object,
        submitter: Actor,
        assignee: Record,
        attachments: Sequence[Record] = (),
        verified_email: str | None = None,
        at: datetime,
    ) -> Ticket:
        """Open a ticket, assigned to the default assignee, with the automatic acknowledgement.

        The number is allocated only once every check has passed, so refusals use none up.
        """
        if submitter.role is not Role.USER:
            raise NotAllowed("only workspace members with the user role may submit tickets")
        errors: content.Errors = {}
        code = content.ticket_type(errors, ticket_type)
        clean_title = content.trimmed_text(errors, "title", title, content.TITLE_MAX)
        clean_description = content.trimmed_text(
            errors, "description", description, content.DESCRIPTION_MAX
        )
        records = content.attachments(errors, "attachment_ids", attachments)
        info = TYPE_INFO.get(code)
        if info is not None and info.requires_attachment and not records:
            errors.setdefault("attachment_ids", []).append(
                f"a {info.name} ticket needs at least one attachment (the application form)"
            )
        if info is not None and info.requires_verified_email and not verified_email:
            errors.setdefault("verification", []).append(
                f"a {info.name} ticket needs a verified e-mail address"
            )
        content.raise_if_any(errors)
        ticket = cls(
            number=allocate_number(),
            workspace_id=workspace_id,
            ticket_type=code,
            title=clean_title,
            description=clean_description,
            submitter={"account_id": submitter.account_id, "name": submitter.name},
            assignee=assignee,
            verified_email=verified_email if info and info.requires_verified_email else None,
            attachments=records,
            actor=submitter.as_record(),
            timestamp=at,
        )
        ticket._record_handler_reply(
            message_id=str(uuid4()),
            actor=SYSTEM.as_record(),
            body=ACKNOWLEDGEMENT,
            attachments=[],
            automatic=True,
            timestamp=at,
        )
        return ticket

    def reply(
        self,
        actor: Actor,
        body: object,
        *,
        attachments: Sequence[Record] = (),
        automatic: bool = False,
        at: datetime,
    ) -> str:
        """Add a message from the submitter or the support side; returns its id."""
        self._check(Action.REPLY, actor)
        from_submitter = self._is_submitter(actor)
        if automatic and from_submitter:
            raise NotAllowed("only handlers may send automatic replies")
        errors: content.Errors = {}
        text = content.trimmed_text(errors, "body", body, content.BODY_MAX)
        records = content.attachments(errors, "attachment_ids", attachments)
        content.raise_if_any(errors)
        message_id = str(uuid4())
        if from_submitter:
            self._record_user_reply(
                message_id=message_id,
                actor=actor.as_record(),
                body=text,
                attachments=records,
                timestamp=at,
            )
        else:
            self._record_handler_reply(
                message_id=message_id,
                actor=actor.as_record(),
                body=text,
                attachments=records,
                automatic=automatic,
                timestamp=at,
            )
        return message_id

    def revoke(self, actor: Actor, *, at: datetime) -> None:
        """Withdraw a ticket nobody has accepted yet."""
        self._check(Action.REVOKE, actor)
        self._record_revoked(actor=actor.as_record(), timestamp=at)

    def restart(
        self, actor: Actor, *, assignee: Record, account_cancelled: bool, at: datetime
    ) -> None:
        """Put a revoked ticket back in the queue of the default assignee."""
        self._check(Action.RESTART, actor)
        if account_cancelled:
            raise NotAllowed("a cancelled account cannot restart tickets")
        self._record_restarted(actor=actor.as_record(), assignee=assignee, timestamp=at)

    def close(self, actor: Actor, *, at: datetime) -> None:
        """The submitter ends the conversation."""
        self._check(Action.CLOSE, actor)
        self._record_closed(
            actor=actor.as_record(), reason=CloseReason.SUBMITTER.value, timestamp=at
        )

    def rate(self, actor: Actor, score: object, comment: object = None, *, at: datetime) -> None:
        """Rate a closed ticket, once."""
        self._check(Action.RATE, actor)
        errors: content.Errors = {}
        clean_score, clean_comment = content.rating(errors, score, comment)
        content.raise_if_any(errors)
        self._record_rated(
            actor=actor.as_record(), score=clean_score, comment=clean_comment, timestamp=at
        )

    def accept(self, actor: Actor, *, at: datetime) -> None:
        """Handle the ticket: the acceptor becomes its assignee."""
        self._check(Action.ACCEPT, actor)
        self._record_accepted(
            actor=actor.as_record(),
            assignee={"account_id": actor.account_id, "name": actor.name},
            timestamp=at,
        )

    def forward(self, actor: Actor, to: Record | None, *, at: datetime) -> None:
        """Hand the ticket to another active handler (``to`` is None if there is none such)."""
        self._check(Action.FORWARD, actor)
        if to is None:
            raise ValidationFailed({"handler_id": ["must be an active handler"]})
        self._record_forwarded(actor=actor.as_record(), assignee=to, timestamp=at)

    def complete(self, actor: Actor, *, at: datetime) -> None:
        """Mark the ticket complete from the support side."""
        self._check(Action.COMPLETE, actor)
        self._record_closed(
            actor=actor.as_record(), reason=CloseReason.COMPLETED.value, timestamp=at
        )

    def close_for_inactivity(self, *, now: datetime) -> None:
        """Close a ticket left in feedback_provided for more than 168 hours."""
        since = self.feedback_provided_since
        if self.status != Status.FEEDBACK_PROVIDED or since is None:
            raise InvalidTransition("only tickets waiting on the user close for inactivity")
        if now - since <= INACTIVITY_LIMIT:
            raise InvalidTransition("the ticket has not been inactive for 168 hours yet")
        self._record_closed(
            actor=SYSTEM.as_record(), reason=CloseReason.INACTIVITY.value, timestamp=now
        )

    def remind_of_closing(self, *, now: datetime, lead: timedelta, text: str) -> bool:
        """Post an automatic reply ``lead`` before the inactivity close, once per wait.

        False (and nothing recorded) if the ticket is not waiting on its user, is not that
        close to closing yet, or was reminded during this wait already.
        """
        since = self.feedback_provided_since
        if self.status != Status.FEEDBACK_PROVIDED or since is None:
            return False
        if now < since + INACTIVITY_LIMIT - lead:
            return False
        if self.reminded_at is not None and self.reminded_at >= since:
            return False
        self._record_handler_reply(
            message_id=str(uuid4()),
            actor=SYSTEM.as_record(),
            body=text,
            attachments=[],
            automatic=True,
            timestamp=now,
            reminder=True,
        )
        return True

    def record_sla_breaches(self, breached: Sequence[str], *, at: datetime) -> list[str]:
        """Record each newly breached SLA target once; returns the ones recorded now."""
        new = [target for target in breached if target not in self.sla_breaches]
        for target in new:
            self._record_sla_breached(actor=SYSTEM.as_record(), target=target, timestamp=at)
        return new

    def close_by_platform(self, reason: CloseReason, *, at: datetime) -> bool:
        """Close because the account or workspace is gone; False if already closed."""
        if self.status == Status.CLOSED:
            return False
        self._record_closed(actor=SYSTEM.as_record(), reason=reason.value, timestamp=at)
        return True

    # ----------------------------------------------------------------- queries

    @property
    def queue_state(self) -> QueueState:
        """The status as the support side sees it."""
        return QUEUE_STATE[Status(self.status)]

    @property
    def assignee_id(self) -> str | None:
        """Account id of the handler the ticket is assigned to."""
        return None if self.assignee is None else str(self.assignee["account_id"])

    def is_visible_to_staff(self, actor: Actor) -> bool:
        """Its assignee, admins, auditors and the system see a ticket whatever their
        memberships (members of its workspace see it too: the application knows them)."""
        return actor.role in (Role.ADMIN, Role.AUDITOR, Role.SYSTEM) or (
            actor.account_id == self.assignee_id and actor.role is Role.HANDLER
        )

    def allowed_actions(self, actor: Actor) -> list[Action]:
        """The commands this actor may issue now."""
        return [action for action in Action if self._refusal(action, actor) is None]

    # ----------------------------------------------------------------- checks

    def _is_submitter(self, actor: Actor) -> bool:
        return actor.role is Role.USER and actor.account_id == self.submitter["account_id"]

    def _is_staff_for(self, actor: Actor) -> bool:
        return actor.role is Role.ADMIN or (
            actor.role is Role.HANDLER and actor.account_id == self.assignee_id
        )

    def _refusal(self, action: Action, actor: Actor) -> DomainError | None:
        if action is Action.REPLY:
            if self._is_submitter(actor):
                allowed = _USER_REPLY_FROM
            elif self._is_staff_for(actor):
                allowed = _STAFF_REPLY_FROM
            else:
                return NotAllowed("only the submitter, the assignee or an admin may reply")
        elif action in _SUBMITTER_ACTIONS:
            if not self._is_submitter(actor):
                return NotAllowed(f"only the submitter may {action} this ticket")
            allowed = _ALLOWED_FROM[action]
        else:
            if not self._is_staff_for(actor):
                return NotAllowed(f"only the assignee or an admin may {action} this ticket")
            allowed = _ALLOWED_FROM[action]
        if self.status not in allowed:
            return InvalidTransition(f"cannot {action} a ticket that is {self.status}")
        if action is Action.RATE and self.rating is not None:
            return InvalidTransition("the ticket has been rated already")
        return None

    def _check(self, action: Action, actor: Actor) -> None:
        refusal = self._refusal(action, actor)
        if refusal is not None:
            raise refusal

    # ----------------------------------------------------------------- events

    @event("HandlerReplied")
    def _record_handler_reply(
        self,
        message_id: str,
        actor: Record,
        body: str,
        attachments: list[Record],
        automatic: bool,
        timestamp: datetime,
        reminder: bool = False,
    ) -> None:
        self._append_message(message_id, actor, body, attachments, automatic, timestamp)
        if reminder:
            self.reminded_at = timestamp
        if not automatic and self.status != Status.FEEDBACK_PROVIDED:
            self._enter(Status.FEEDBACK_PROVIDED, timestamp)
            self.feedback_provided_since = timestamp
        if not automatic and self.first_responded_at is None:
            self.first_responded_at = timestamp

    @event("UserReplied")
    def _record_user_reply(
        self,
        message_id: str,
        actor: Record,
        body: str,
        attachments: list[Record],
        timestamp: datetime,
    ) -> None:
        self._append_message(message_id, actor, body, attachments, False, timestamp)
        if self.status == Status.FEEDBACK_PROVIDED:
            self._enter(Status.WAITING_FOR_FEEDBACK, timestamp)
            self.feedback_provided_since = None

    @event("Revoked")
    def _record_revoked(self, actor: Record, timestamp: datetime) -> None:
        self._enter(Status.REVOKED, timestamp)

    @event("Restarted")
    def _record_restarted(self, actor: Record, assignee: Record, timestamp: datetime) -> None:
        self._enter(Status.WAITING_FOR_ASSIGNMENT, timestamp)
        self.assignee = assignee

    @event("Accepted")
    def _record_accepted(self, actor: Record, assignee: Record, timestamp: datetime) -> None:
        self._enter(Status.WAITING_FOR_FEEDBACK, timestamp)
        self.assignee = assignee

    @event("Forwarded")
    def _record_forwarded(self, actor: Record, assignee: Record, timestamp: datetime) -> None:
        self.assignee = assignee

    @event("Closed")
    def _record_closed(self, actor: Record, reason: str, timestamp: datetime) -> None:
        self._enter(Status.CLOSED, timestamp)
        self.close_reason = reason
        self.closed_at = timestamp
        self.feedback_provided_since = None

    @event("SlaBreached")
    def _record_sla_breached(self, actor: Record, target: str, timestamp: datetime) -> None:
        self.sla_breaches.append(target)

    @event("Rated")
    def _record_rated(
        self, actor: Record, score: int, comment: str | None, timestamp: datetime
    ) -> None:
        self.rating = {"score": score, "comment": comment, "rated_at": timestamp}

    def _enter(self, status: Status, at: datetime) -> None:
        """Change status, keeping when each status began (the SLA clocks pause on some)."""
        self.status = status.value
        self.timeline.append({"at": at, "status": status.value})

    def _append_message(
        self,
        message_id: str,
        author: Record,
        body: str,
        attachments: list[Record],
        automatic: bool,
        at: datetime,
    ) -> None:
        self.messages.append(
            {
                "id": message_id,
                "author": author,
                "body": body,
                "attachments": attachments,
                "automatic": automatic,
                "created_at": at,
            }
        )
