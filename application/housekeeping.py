"""The system's own ticket commands, run by the sweeps: closing reminders, SLA breaches,
closing for inactivity. Each re-checks its rule on the aggregate, whatever the read model
that found the candidate said."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from application.results import CommandResult
from application.store import TicketingStore


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
