"""Ticket commands of CONTRACT.md §1: load, let the domain decide, save in one transaction.

Each command runs as an attempt the store retries when it loses a write race (bounded); an
``If-Match`` version that no longer matches is not retried, and a request repeated with its
``Idempotency-Key`` gets the first outcome back without recording anything new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.attachments import Attachments
from application.errors import IdempotencyKeyReused, VersionMismatch
from application.records import Alongside, AttachmentReference, IdempotencyRecord, TicketOwner
from application.results import Change, CommandResult, IdempotencyKey
from application.roster import HandlerAdministration
from application.store import TicketingStore
from application.verifications import EmailVerifications
from domain import content
from domain.actors import Actor
from domain.errors import InvalidTransition, NotAllowed
from domain.platform import Account, Workspace
from domain.ticket import Ticket
from domain.ticket_types import TYPE_INFO
from domain.verification import EmailVerification

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """What a submitter sent: the form's fields as received (the domain checks them)."""

    ticket_type: object
    title: object
    description: object
    attachment_ids: Sequence[str] = ()
    verification: tuple[str, str] | None = None  # (verification_id, code)


class _TicketNumber:
    """One ticket number, allocated when first needed: a retried attempt keeps it."""

    def __init__(self, allocate: Callable[[], int]) -> None:
        self._allocate = allocate
        self._number: int | None = None

    def __call__(self) -> int:
        if self._number is None:
            self._number = self._allocate()
        return self._number


class TicketCommands:
    """What submitters and handlers do to tickets."""

    store: TicketingStore
    handlers: HandlerAdministration
    attachments: Attachments
    verifications: EmailVerifications

    def submit(
        self,
        actor: Actor,
        workspace_id: str,
        *,
        ticket_type: object,
        title: object,
        description: object,
        attachment_ids: Sequence[str] = (),
        verification: tuple[str, str] | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        """Open a ticket in a workspace the caller is a current member of.

        ``verification`` is ``(verification_id, code)``; an Unbind MFA ticket needs one, and
        uses it up in the same transaction.
        """
        content.check_identifiers(workspace_id=workspace_id)
        form = Submission(ticket_type, title, description, attachment_ids, verification)
        number = _TicketNumber(self.store.numbers.allocate)
        result = self.store.retrying(
            lambda: (
                self._replay(actor, idempotency)
                or self._submit_once(actor, workspace_id, form, number, idempotency)
            )
        )
        if not result.replayed:
            log.info("ticket %s #%s submitted", result.ticket.id, result.ticket.number)
        return result

    def reply(
        self,
        actor: Actor,
        ticket_id: str,
        body: object,
        *,
        attachment_ids: Sequence[str] = (),
        automatic: bool = False,
        expected_version: int | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        """Add a message from the submitter or the support side, with up to 5 own uploads."""

        def change(ticket: Ticket, now: datetime) -> Change:
            attachments = self.attachments.resolve(actor, attachment_ids)
            message_id = ticket.reply(
                self.handlers.named(actor),
                body,
                attachments=attachments,
                automatic=automatic,
                at=now,
            )
            references = [
                AttachmentReference(UUID(a["id"]), ticket.id, message_id) for a in attachments
            ]
            return Change(message_id, references)

        return self._on_ticket(actor, ticket_id, expected_version, change, idempotency)

    def add_note(
        self,
        actor: Actor,
        ticket_id: str,
        body: object,
        *,
        attachment_ids: Sequence[str] = (),
        expected_version: int | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        """A staff note on the ticket, with up to 5 own uploads (for staff only, like it)."""

        def change(ticket: Ticket, now: datetime) -> Change:
            attachments = self.attachments.resolve(actor, attachment_ids)
            note_id = ticket.add_note(
                self.handlers.named(actor), body, attachments=attachments, at=now
            )
            references = [
                AttachmentReference(UUID(a["id"]), ticket.id, note_id, staff_only=True)
                for a in attachments
            ]
            return Change(note_id, references)

        return self._on_ticket(actor, ticket_id, expected_version, change, idempotency)

    def revoke(
        self, actor: Actor, ticket_id: str, *, expected_version: int | None = None
    ) -> CommandResult:
        """Withdraw a ticket before anyone accepted it."""
        return self._on_ticket(
            actor, ticket_id, expected_version, lambda t, now: t.revoke(actor, at=now)
        )

    def restart(
        self, actor: Actor, ticket_id: str, *, expected_version: int | None = None
    ) -> CommandResult:
        """Put a revoked ticket back in the default assignee's queue."""

        def change(ticket: Ticket, now: datetime) -> None:
            account = self.store.find(Account, Account.create_id(actor.account_id))
            ticket.restart(
                actor,
                assignee=self.handlers.default_assignee(),
                account_cancelled=account is not None and account.cancelled,
                at=now,
            )

        return self._on_ticket(actor, ticket_id, expected_version, change)

    def close(
        self, actor: Actor, ticket_id: str, *, expected_version: int | None = None
    ) -> CommandResult:
        """The submitter closes the ticket."""
        return self._on_ticket(
            actor, ticket_id, expected_version, lambda t, now: t.close(actor, at=now)
        )

    def rate(
        self,
        actor: Actor,
        ticket_id: str,
        score: object,
        comment: object = None,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Rate a closed ticket once."""
        return self._on_ticket(
            actor, ticket_id, expected_version, lambda t, now: t.rate(actor, score, comment, at=now)
        )

    def accept(
        self, actor: Actor, ticket_id: str, *, expected_version: int | None = None
    ) -> CommandResult:
        """Handle a waiting ticket; the acceptor becomes its assignee."""
        return self._on_ticket(
            actor,
            ticket_id,
            expected_version,
            lambda t, now: t.accept(actor, at=now, name=self.handlers.name_of(actor)),
        )

    def forward(
        self,
        actor: Actor,
        ticket_id: str,
        handler_id: object,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Assign the ticket to another active handler."""
        content.check_identifiers(handler_id=handler_id)

        def change(ticket: Ticket, now: datetime) -> None:
            roster = self.handlers.roster(read_only=True)
            default = self.store.default_assignee
            target = (
                roster.forward_target(handler_id, default) if isinstance(handler_id, str) else None
            )
            ticket.forward(actor, target, at=now)

        return self._on_ticket(actor, ticket_id, expected_version, change)

    def complete(
        self, actor: Actor, ticket_id: str, *, expected_version: int | None = None
    ) -> CommandResult:
        """Mark the ticket complete from the support side."""
        return self._on_ticket(
            actor, ticket_id, expected_version, lambda t, now: t.complete(actor, at=now)
        )

    # ------------------------------------------------------------ the steps

    def _submit_once(
        self,
        actor: Actor,
        workspace_id: str,
        form: Submission,
        number: Callable[[], int],
        idempotency: IdempotencyKey | None,
    ) -> CommandResult:
        now = self.store.clock.now()
        self._check_may_submit(actor, workspace_id)
        verified = self._verification_used(actor, form, now)
        ticket = Ticket.submit(
            allocate_number=number,
            workspace_id=workspace_id,
            ticket_type=form.ticket_type,
            title=form.title,
            description=form.description,
            submitter=actor,
            assignee=self.handlers.default_assignee(),
            attachments=self.attachments.resolve(actor, form.attachment_ids),
            verified_email=None if verified is None else verified.email,
            at=now,
        )
        changed: list[Aggregate] = [ticket]
        if verified is not None:
            verified.use(ticket.id, at=now)
            changed.append(verified)
        references = [
            AttachmentReference(UUID(a["id"]), ticket.id, None) for a in ticket.attachments
        ]
        # the gates of the workspace and the account let the ticket through in the same
        # transaction, or refuse it if either closed meanwhile (application.gates)
        alongside = Alongside(
            idempotency=self._idempotency_record(actor, idempotency, ticket),
            attachment_references=references,
            ticket_owner=TicketOwner(ticket.id, workspace_id, actor.account_id),
        )
        return CommandResult(ticket, self.store.commit(*changed, alongside=alongside))

    def _check_may_submit(self, actor: Actor, workspace_id: str) -> None:
        """Membership here; a cancelled account or a dissolved workspace is refused by its
        gate in the commit's transaction (``application.gates``), which is also what makes
        a submission racing the cancellation safe."""
        workspace = self.store.find(Workspace, Workspace.create_id(workspace_id), read_only=True)
        if workspace is None:
            raise NotAllowed("only current members of the workspace may submit tickets to it")
        workspace.check_can_submit(actor)

    def _verification_used(
        self, actor: Actor, form: Submission, now: datetime
    ) -> EmailVerification | None:
        """The checked verification an Unbind MFA ticket uses up (the domain requires one)."""
        info = TYPE_INFO.get(form.ticket_type) if isinstance(form.ticket_type, str) else None
        if form.verification is None or info is None or not info.requires_verified_email:
            return None
        return self.verifications.checked(actor, *form.verification, now)

    def _on_ticket(
        self,
        actor: Actor,
        ticket_id: str,
        expected_version: int | None,
        change: Callable[[Ticket, datetime], Change | None],
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        def attempt() -> CommandResult:
            ticket = self.store.visible_ticket(actor, ticket_id)
            self.handlers.check_active(actor)
            replay = self._replay(actor, idempotency)
            if replay is not None:
                return replay
            known = ticket.version_for(actor)  # to a user, notes do not exist
            stale = expected_version is not None and known != expected_version
            try:  # a refusal of who or what comes first; a stale state is the caller's 412
                changed = change(ticket, self.store.clock.now()) or Change()
            except InvalidTransition:
                if stale:
                    raise VersionMismatch(known) from None
                raise
            if stale:
                raise VersionMismatch(known)
            record = self._idempotency_record(actor, idempotency, ticket, changed.message_id)
            alongside = Alongside(idempotency=record, attachment_references=changed.references)
            position = self.store.commit(ticket, alongside=alongside)
            return CommandResult(ticket, position, changed.message_id)

        return self.store.retrying(attempt)

    def _replay(self, actor: Actor, idempotency: IdempotencyKey | None) -> CommandResult | None:
        """The earlier outcome of a request with the same key, if there was one."""
        if idempotency is None:
            return None
        record = self.store.ledger.find_idempotency(actor.account_id, idempotency.key)
        if record is None:
            return None
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(idempotency.key)
        ticket: Aggregate = self.store.repository.get(record.ticket_id, version=record.version)
        assert isinstance(ticket, Ticket)
        return CommandResult(ticket, record.position, record.message_id, replayed=True)

    @staticmethod
    def _idempotency_record(
        actor: Actor,
        idempotency: IdempotencyKey | None,
        ticket: Ticket,
        message_id: str | None = None,
    ) -> IdempotencyRecord | None:
        if idempotency is None:
            return None
        return IdempotencyRecord(
            account_id=actor.account_id,
            key=idempotency.key,
            fingerprint=idempotency.fingerprint,
            ticket_id=ticket.id,
            version=ticket.version,
            message_id=message_id,
        )
