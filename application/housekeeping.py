"""The system's own ticket commands, run by the sweeps: closing reminders, SLA breaches,
closing for inactivity. Each re-checks its rule on the aggregate, whatever the read model
that found the candidate said."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from application.results import CommandResult
from application.store import TicketingStore
from domain import inactivity
from domain.due_warnings import DueWarnings
from domain.handlers import ROSTER_ID, HandlerRoster
from domain.notifications import Kind
from domain.sla import FIRST_RESPONSE, PAUSED, RESOLUTION
from domain.status import Status
from domain.ticket import Ticket

CLOSING_SOON_LEAD = timedelta(hours=24)  # CONTRACT.md §6.1: a day before the inactivity close
SLA_DUE_SOON_LEAD = timedelta(hours=1)  # of service time, on the service calendar


class Housekeeping:
    """Ticket commands nobody sends: the sweeps decide when, the aggregate whether."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store

    def remind_of_closing(
        self, ticket_id: UUID, *, now: datetime, lead: timedelta, text: str
    ) -> bool:
        """Post the closing reminder if it is due; False if not."""

        def attempt() -> bool:
            ticket = self.store.get_ticket(ticket_id)
            if not ticket.remind_of_closing(now=now, lead=lead, text=text):
                return False
            self.store.commit(ticket)
            return True

        return self.store.retrying(attempt)

    def record_sla_breaches(self, ticket_id: UUID) -> list[str]:
        """Record the SLA targets a ticket has newly breached (each once); returns them."""

        def attempt() -> list[str]:
            ticket = self.store.get_ticket(ticket_id)
            now = self.store.clock.now()
            breached = self.store.service_level.of(ticket, now).breached
            new = ticket.record_sla_breaches(breached, at=now)
            if new:
                self.store.commit(ticket)
            return new

        return self.store.retrying(attempt)

    def close_if_inactive(self, ticket_id: UUID, *, now: datetime) -> CommandResult:
        """Close one ticket for inactivity, re-checking the 168-hour rule on the aggregate."""

        def attempt() -> CommandResult:
            ticket = self.store.get_ticket(ticket_id)
            ticket.close_for_inactivity(now=now)
            return CommandResult(ticket, self.store.commit(ticket))

        return self.store.retrying(attempt)

    def reassign_from_inactive(self, ticket_id: UUID, handler_id: str) -> bool:
        """Forward a deactivated handler's ticket to the default assignee (by the system);
        False if it is closed, no longer theirs, or they are active again."""

        def attempt() -> bool:
            ticket = self.store.get_ticket(ticket_id)
            roster = self.store.find(HandlerRoster, ROSTER_ID, read_only=True)
            if roster is None or not roster.is_deactivated(handler_id):
                return False
            default = self.store.default_assignee
            to = {"account_id": default, "name": roster.name_of(default)}
            if not ticket.reassign_from_inactive(handler_id, to, at=self.store.clock.now()):
                return False
            self.store.commit(ticket)
            return True

        return self.store.retrying(attempt)

    def warn_before_due(self, ticket_id: UUID, *, now: datetime) -> int:
        """Warn of the due times that come within their lead (``closing_soon`` a day before
        the inactivity close, ``sla_due_soon`` an hour of service time before an open SLA due
        time), each once; returns how many warnings were recorded now."""

        def attempt() -> int:
            ticket = self.store.get_ticket(ticket_id)
            warnings_id = DueWarnings.create_id(ticket_id)
            warnings = self.store.find(DueWarnings, warnings_id) or DueWarnings(
                ticket_id=ticket_id, timestamp=now
            )
            recorded = 0
            for kind, recipient, target, due_at in self._due_soon(ticket, now):
                recorded += warnings.warn(kind, recipient, target, due_at, at=now)
            if recorded:
                self.store.commit(warnings)
            return recorded

        return self.store.retrying(attempt)

    def _due_soon(self, ticket: Ticket, now: datetime) -> list[tuple[Kind, str, str, datetime]]:
        due: list[tuple[Kind, str, str, datetime]] = []
        since = ticket.feedback_provided_since
        if since is not None:
            closes_at = since + inactivity.INACTIVITY_LIMIT
            if closes_at - CLOSING_SOON_LEAD <= now < closes_at:
                submitter = str(ticket.submitter["account_id"])
                due.append((Kind.CLOSING_SOON, submitter, "inactivity", closes_at))
        if ticket.status == Status.CLOSED or ticket.status in PAUSED or not ticket.assignee_id:
            return due
        level = self.store.service_level
        sla = level.of(ticket, now)
        horizon = level.calendar.add(now, SLA_DUE_SOON_LEAD)
        clocks = [(RESOLUTION, sla.resolution_due_at)]
        if sla.first_responded_at is None:
            clocks.append((FIRST_RESPONSE, sla.first_response_due_at))
        for target, due_at in clocks:
            if target not in sla.breached and now < due_at <= horizon:
                due.append((Kind.SLA_DUE_SOON, ticket.assignee_id, target, due_at))
        return due
