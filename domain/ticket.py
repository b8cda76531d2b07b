"""The Ticket aggregate: every transition of CONTRACT.md §1 and who may make it.

Public command methods check first (``domain.permissions``) and only then trigger the event;
the decorated ``_record_*`` methods are the state changes, replayed as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from domain import content, inactivity, permissions
from domain.actors import SYSTEM, Actor
from domain.copying import CheapCopy
from domain.errors import InvalidTransition, NotAllowed, ValidationFailed
from domain.status import QUEUE_STATE, Action, CloseReason, QueueState, Status
from domain.submission import ACKNOWLEDGEMENT, check_submission

Record = dict[str, Any]


class Ticket(CheapCopy, Aggregate):
    """A support request of one submitter in one workspace, and its conversation."""

    # Staff notes (CONTRACT.md §7), and what the ticket's users saw last: a note exists only
    # for staff, so to a user the ticket's version and update time stay those of the event
    # before it. Class-level defaults, so tickets restored from snapshots taken before notes
    # existed have them too; a note replaces the list (never appends in place: CheapCopy).
    notes: Sequence[Record] = ()
    last_note_version = 0
    seen_by_users: tuple[int, datetime] | None = None

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
        form = check_submission(
            submitter,
            ticket_type=ticket_type,
            title=title,
            description=description,
            attachments=attachments,
            verified_email=verified_email,
        )
        ticket = cls(
            number=allocate_number(),
            workspace_id=workspace_id,
            ticket_type=form.ticket_type,
            title=form.title,
            description=form.description,
            submitter={"account_id": submitter.account_id, "name": submitter.name},
            assignee=assignee,
            verified_email=form.verified_email,
            attachments=form.attachments,
            actor=submitter.as_record(),
            timestamp=at,
        )
        ticket._post_automatic(ACKNOWLEDGEMENT, at)
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
        from_submitter = permissions.is_submitter(self, actor)
        if automatic and from_submitter:
            raise NotAllowed("only handlers may send automatic replies")
        errors: content.Errors = {}
        text = content.trimmed_text(errors, "body", body, content.BODY_MAX)
        records = content.attachments(errors, "attachment_ids", attachments)
        content.raise_if_any(errors)
        message_id = str(uuid4())
        said: Record = {"message_id": message_id, "actor": actor.as_record(), "body": text}
        if from_submitter:
            self._record_user_reply(**said, attachments=records, timestamp=at)
        else:
            self._record_handler_reply(
                **said, attachments=records, automatic=automatic, timestamp=at
            )
        return message_id

    def add_note(
        self, actor: Actor, body: object, *, attachments: Sequence[Record] = (), at: datetime
    ) -> str:
        """A staff note: for the support side only; it changes no status and starts or stops
        no clock. Returns its id."""
        refused = permissions.note_refusal(self, actor)
        if refused is not None:
            raise refused
        errors: content.Errors = {}
        text = content.trimmed_text(errors, "body", body, content.BODY_MAX)
        records = content.attachments(errors, "attachment_ids", attachments)
        content.raise_if_any(errors)
        note_id = str(uuid4())
        self._record_note(
            note_id=note_id, actor=actor.as_record(), body=text, attachments=records, timestamp=at
        )
        return note_id

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
        self._close_as(actor, CloseReason.SUBMITTER, at)

    def rate(self, actor: Actor, score: object, comment: object = None, *, at: datetime) -> None:
        """Rate a closed ticket, once."""
        self._check(Action.RATE, actor)
        errors: content.Errors = {}
        clean_score, clean_comment = content.rating(errors, score, comment)
        content.raise_if_any(errors)
        self._record_rated(
            actor=actor.as_record(), score=clean_score, comment=clean_comment, timestamp=at
        )

    def accept(self, actor: Actor, *, at: datetime, name: str = "") -> None:
        """Handle the ticket: the acceptor becomes its assignee (``name``: as the roster
        knows them; the token's name if the roster has none)."""
        self._check(Action.ACCEPT, actor)
        acceptor = {"account_id": actor.account_id, "name": name or actor.name}
        self._record_accepted(actor=actor.as_record(), assignee=acceptor, timestamp=at)

    def forward(self, actor: Actor, to: Record | None, *, at: datetime) -> None:
        """Hand the ticket to another active handler (``to`` is None if there is none such)."""
        self._check(Action.FORWARD, actor)
        if to is None:
            raise ValidationFailed({"handler_id": ["must be an active handler"]})
        self._record_forwarded(actor=actor.as_record(), assignee=to, timestamp=at)

    def reassign_from_inactive(self, handler_id: str, to: Record, *, at: datetime) -> bool:
        """The system forwards the ticket of a deactivated handler (CONTRACT.md §1: every
        ticket of theirs not yet closed); False, and nothing recorded, if it is closed or no
        longer theirs."""
        if self.status == Status.CLOSED or self.assignee_id != handler_id:
            return False
        self._record_forwarded(actor=SYSTEM.as_record(), assignee=to, timestamp=at)
        return True

    def complete(self, actor: Actor, *, at: datetime) -> None:
        """Mark the ticket complete from the support side."""
        self._check(Action.COMPLETE, actor)
        self._close_as(actor, CloseReason.COMPLETED, at)

    def close_for_inactivity(self, *, now: datetime) -> None:
        """Close a ticket left in feedback_provided for more than 168 hours."""
        since = self.feedback_provided_since
        if since is None:
            raise InvalidTransition("only tickets waiting on the user close for inactivity")
        if not inactivity.overdue(since, now):
            raise InvalidTransition("the ticket has not been inactive for 168 hours yet")
        self._close_as(SYSTEM, CloseReason.INACTIVITY, now)

    def remind_of_closing(self, *, now: datetime, lead: timedelta, text: str) -> bool:
        """Post an automatic reply ``lead`` before the inactivity close, once per wait.

        False (and nothing recorded) if the ticket is not waiting on its user, is not that
        close to closing yet, or was reminded during this wait already.
        """
        since = self.feedback_provided_since
        if since is None or not inactivity.reminder_due(since, self.reminded_at, now, lead):
            return False
        self._post_automatic(text, now, reminder=True)
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
        self._close_as(SYSTEM, reason, at)
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
        """Whether the actor sees the ticket by their role (``domain.permissions``)."""
        return permissions.is_visible_to_staff(self, actor)

    def version_for(self, actor: Actor) -> int:
        """The version as the actor knows the ticket (``ETag``, ``If-Match``, details, the
        history's numbers, streams): to a user, notes do not exist, so it counts the events
        they can see, every event but the notes, and goes on without a gap where a note
        stands (a user who could see gaps could count the notes)."""
        return self.version if permissions.sees_notes(actor) else self.user_version

    @property
    def user_version(self) -> int:
        """How many of the ticket's events a user can see (all but the staff notes)."""
        return self.version - len(self.notes)

    def updated_for(self, actor: Actor) -> datetime:
        """When the ticket last changed in a way the actor can see."""
        return self._as_seen_by(actor)[1]

    def _as_seen_by(self, actor: Actor) -> tuple[int, datetime]:
        latest = (self.version, self.modified_on)
        if self.seen_by_users is None or self.last_note_version != self.version:
            return latest  # the last event is one everybody sees
        return latest if permissions.sees_notes(actor) else self.seen_by_users

    def allowed_actions(self, actor: Actor) -> list[Action]:
        """The commands this actor may issue now."""
        return permissions.allowed_actions(self, actor)

    # ----------------------------------------------------------------- helpers

    def _check(self, action: Action, actor: Actor) -> None:
        refused = permissions.refusal(self, action, actor)
        if refused is not None:
            raise refused

    def _close_as(self, actor: Actor, reason: CloseReason, at: datetime) -> None:
        self._record_closed(actor=actor.as_record(), reason=reason.value, timestamp=at)

    def _post_automatic(self, text: str, at: datetime, *, reminder: bool = False) -> None:
        """A message from the system: the acknowledgement, a closing reminder."""
        self._record_handler_reply(
            message_id=str(uuid4()),
            actor=SYSTEM.as_record(),
            body=text,
            attachments=[],
            automatic=True,
            timestamp=at,
            reminder=reminder,
        )

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

    @event("StaffNoteAdded")
    def _record_note(
        self,
        note_id: str,
        actor: Record,
        body: str,
        attachments: list[Record],
        timestamp: datetime,
    ) -> None:
        # the library moves version and modified_on on after this body: they are still the
        # previous event's here, which users saw unless it was a note too
        if self.last_note_version != self.version:
            self.seen_by_users = (self.version, self.modified_on)
        self.last_note_version = self.version + 1
        note = {"id": note_id, "author": actor, "body": body, "attachments": attachments}
        self.notes = [*self.notes, {**note, "created_at": timestamp}]

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

    @event("SlaBreached")
    def _record_sla_breached(self, actor: Record, target: str, timestamp: datetime) -> None:
        self.sla_breaches.append(target)

    @event("Rated")
    def _record_rated(
        self, actor: Record, score: int, comment: str | None, timestamp: datetime
    ) -> None:
        self.rating = {"score": score, "comment": comment, "rated_at": timestamp}

    def _enter(self, status: Status, at: datetime) -> None:
        """Change status, keeping when each status began (the SLA clocks pause on some) and
        when the ticket began waiting on its user (``domain.inactivity``)."""
        self.status = status.value
        self.timeline.append({"at": at, "status": status.value})
        self.feedback_provided_since = inactivity.clock_after(
            self.status, self.feedback_provided_since, at
        )

    def _append_message(
        self,
        message_id: str,
        author: Record,
        body: str,
        attachments: list[Record],
        automatic: bool,
        at: datetime,
    ) -> None:
        message = {"id": message_id, "author": author, "body": body, "attachments": attachments}
        self.messages.append({**message, "automatic": automatic, "created_at": at})
