"""The ticketing application: every ticket command of CONTRACT.md §1 and the detail queries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.attachments import Attachments
from application.errors import (
    IdempotencyKeyReused,
    TicketNotFound,
    VersionMismatch,
)
from application.gates import TicketOwner
from application.history import HistoryEntry, history_entry
from application.platform_facts import PlatformFacts
from application.recorder import AttachmentReference, IdempotencyRecord
from application.roster import HandlerAdministration
from application.verifications import EmailVerifications
from domain import content
from domain.actors import Actor, Role
from domain.errors import NotAllowed, ValidationFailed
from domain.platform import Account, Workspace
from domain.sla import SlaStatus
from domain.ticket import Ticket
from domain.ticket_types import TYPE_INFO

log = logging.getLogger(__name__)
Record = dict[str, Any]


@dataclass(frozen=True)
class CommandResult:
    """What a ticket command left behind: the new state and the store position it reached.

    ``replayed`` is true when an idempotency key matched an earlier identical request: the
    result is that request's, and nothing new was recorded.
    """

    ticket: Ticket
    position: int
    message_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key`` and a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Change:
    """What a ticket command produced besides events: a message and the files it attached."""

    message_id: str | None = None
    references: Sequence[AttachmentReference] = ()


class TicketingApp(PlatformFacts, HandlerAdministration, EmailVerifications, Attachments):
    """Tickets, workspaces, accounts, handlers, attachments and e-mail verifications:
    one event-sourced store, composed of one mixin per use case."""

    name = "ticketing"

    # ------------------------------------------------------------ ticket commands

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
        numbers: list[int] = []

        def allocate() -> int:
            if not numbers:  # a retried attempt keeps the number it was given
                numbers.append(self.numbers.allocate())
            return numbers[0]

        def attempt() -> CommandResult:
            replay = self._replay(actor, idempotency)
            if replay is not None:
                return replay
            now = self.clock.now()
            workspace = self._find(Workspace, Workspace.create_id(workspace_id))
            if workspace is None:
                raise NotAllowed("only current members of the workspace may submit tickets to it")
            workspace.check_can_submit(actor)
            account = self._find(Account, Account.create_id(actor.account_id))
            if account is not None:
                account.check_can_submit()
            verified = None
            info = TYPE_INFO.get(ticket_type) if isinstance(ticket_type, str) else None
            if verification is not None and info is not None and info.requires_verified_email:
                verified = self._checked_verification(actor, *verification, now)
            attachments = self._resolve_attachments(actor, attachment_ids)
            ticket = Ticket.submit(
                allocate_number=allocate,
                workspace_id=workspace_id,
                ticket_type=ticket_type,
                title=title,
                description=description,
                submitter=actor,
                assignee=self._default_assignee(),
                attachments=attachments,
                verified_email=None if verified is None else verified.email,
                at=now,
            )
            changed: list[Aggregate] = [ticket]
            if verified is not None:
                verified.use(ticket.id, at=now)
                changed.append(verified)
            record = self._idempotency_record(actor, idempotency, ticket)
            references = [
                AttachmentReference(UUID(a["id"]), ticket.id, None) for a in ticket.attachments
            ]
            # the gates of the workspace and the account let the ticket through in the same
            # transaction, or refuse it if either closed meanwhile (application.gates)
            owner = TicketOwner(ticket.id, workspace_id, actor.account_id)
            position = self._save(
                *changed, idempotency=record, attachment_references=references, ticket_owner=owner
            )
            return CommandResult(ticket, position)

        result = self._retrying(attempt)
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
            attachments = self._resolve_attachments(actor, attachment_ids)
            message_id = ticket.reply(
                actor, body, attachments=attachments, automatic=automatic, at=now
            )
            references = [
                AttachmentReference(UUID(a["id"]), ticket.id, message_id) for a in attachments
            ]
            return Change(message_id, references)

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
            account = self._find(Account, Account.create_id(actor.account_id))
            ticket.restart(
                actor,
                assignee=self._default_assignee(),
                account_cancelled=account is not None and account.cancelled,
                at=now,
            )

        return self._on_ticket(actor, ticket_id, expected_version, change)

    def close_ticket(
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
            actor, ticket_id, expected_version, lambda t, now: t.accept(actor, at=now)
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
            target = (
                self.roster().active_handler(handler_id) if isinstance(handler_id, str) else None
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

    def remind_of_closing(
        self, ticket_id: UUID, *, now: datetime, lead: timedelta, text: str
    ) -> bool:
        """Post the closing reminder if it is due (re-checked on the aggregate); False if not."""

        def attempt() -> bool:
            ticket = self._get_ticket(ticket_id)
            if not ticket.remind_of_closing(now=now, lead=lead, text=text):
                return False
            self._save(ticket)
            return True

        return self._retrying(attempt)

    def record_sla_breaches(self, ticket_id: UUID) -> list[str]:
        """Record the SLA targets a ticket has newly breached (each once); returns them."""

        def attempt() -> list[str]:
            ticket = self._get_ticket(ticket_id)
            now = self.clock.now()
            new = ticket.record_sla_breaches(self.service_level.of(ticket, now).breached, at=now)
            if new:
                self._save(ticket)
            return new

        return self._retrying(attempt)

    def close_if_inactive(self, ticket_id: UUID, *, now: datetime) -> CommandResult:
        """Close one ticket for inactivity, re-checking the 168-hour rule on the aggregate."""

        def attempt() -> CommandResult:
            ticket = self._get_ticket(ticket_id)
            ticket.close_for_inactivity(now=now)
            return CommandResult(ticket, self._save(ticket))

        return self._retrying(attempt)

    # ------------------------------------------------------------ queries

    def ticket(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> Ticket:
        """A ticket the caller may see, now or (admins, auditors) at a version or a time."""
        ticket = self._visible_ticket(actor, ticket_id)
        if version is None and as_of is None:
            return ticket
        if actor.role not in (Role.ADMIN, Role.AUDITOR):
            raise NotAllowed("only admins and auditors may read past states")
        if as_of is not None:
            versions = [
                e.originator_version
                for e in self.events.get(ticket.id)
                if cast(Any, e).timestamp <= as_of
            ]
            if not versions:
                raise TicketNotFound(ticket_id)
            version = versions[-1] if version is None else min(version, versions[-1])
        assert version is not None
        if not 1 <= version <= ticket.version:
            raise ValidationFailed({"version": [f"must be from 1 to {ticket.version}"]})
        past: Aggregate = self.repository.get(ticket.id, version=version)
        assert isinstance(past, Ticket)
        return past

    def sla(self, ticket: Ticket, *, at: datetime | None = None) -> SlaStatus:
        """The ticket's service-level clocks as of ``at`` (now by default)."""
        return self.service_level.of(ticket, at or self.clock.now())

    def history(self, actor: Actor, ticket_id: str) -> list[HistoryEntry]:
        """Every event of a ticket the caller may see, oldest first."""
        ticket = self._visible_ticket(actor, ticket_id)
        return [history_entry(e) for e in self.events.get(ticket.id)]

    # ------------------------------------------------------------ internals

    def _on_ticket(
        self,
        actor: Actor,
        ticket_id: str,
        expected_version: int | None,
        change: Callable[[Ticket, datetime], Change | None],
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        def attempt() -> CommandResult:
            ticket = self._visible_ticket(actor, ticket_id)
            replay = self._replay(actor, idempotency)
            if replay is not None:
                return replay
            if expected_version is not None and ticket.version != expected_version:
                raise VersionMismatch(ticket.version)
            changed = change(ticket, self.clock.now()) or Change()
            record = self._idempotency_record(actor, idempotency, ticket, changed.message_id)
            position = self._save(
                ticket, idempotency=record, attachment_references=changed.references
            )
            return CommandResult(ticket, position, changed.message_id)

        return self._retrying(attempt)

    def _replay(self, actor: Actor, idempotency: IdempotencyKey | None) -> CommandResult | None:
        """The earlier outcome of a request with the same key, if there was one."""
        if idempotency is None:
            return None
        record = self._recorder.find_idempotency(actor.account_id, idempotency.key)
        if record is None:
            return None
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(idempotency.key)
        ticket: Aggregate = self.repository.get(record.ticket_id, version=record.version)
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
