"""The warnings before a due time (CONTRACT.md §6.1): ``closing_soon`` before the inactivity
close, ``sla_due_soon`` before an SLA due time.

They are facts the sweeps notice rather than commands anybody sends, and they are not ticket
events (``tickets.events`` carries none of them), so each ticket has a small aggregate of its
own that records every warning once. Being stored events, the warnings reach the inbox, the
streams and Kafka the way every other fact does, with their store position.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.copying import CheapCopy
from domain.notifications import Kind

_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ticketing:due-warnings")


class DueWarnings(CheapCopy, Aggregate):
    """The due times one ticket's people were warned of, each once."""

    @staticmethod
    def create_id(ticket_id: UUID) -> UUID:
        """One per ticket, found from the ticket's id."""
        return uuid5(_ID_NAMESPACE, str(ticket_id))

    @event("Opened")
    def __init__(self, ticket_id: UUID, timestamp: datetime) -> None:
        self.ticket_id = ticket_id
        self.warned: list[str] = []

    def warn(
        self, kind: Kind, recipient: str, target: str, due_at: datetime, *, at: datetime
    ) -> bool:
        """Record a warning of ``due_at`` for ``target``, unless it was recorded already."""
        key = f"{kind}:{target}:{due_at.isoformat()}"
        if key in self.warned:
            return False
        self._record_warned(
            ticket_id=self.ticket_id,
            kind=str(kind),
            recipient=recipient,
            target=target,
            due_at=due_at,
            timestamp=at,
        )
        return True

    @event("Warned")
    def _record_warned(
        self,
        ticket_id: UUID,
        kind: str,
        recipient: str,
        target: str,
        due_at: datetime,
        timestamp: datetime,
    ) -> None:
        self.warned.append(f"{kind}:{target}:{due_at.isoformat()}")
