"""Queries on one ticket: its state now or in the past, its SLA clocks, its history.

Lists and searches are read models (``projections``); these read the aggregate itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from eventsourcing.domain import Aggregate

from application.errors import TicketNotFound
from application.history import STAFF_ONLY_TYPES, HistoryEntry, history_entry
from application.store import CachedMembership, TicketingStore
from domain import permissions
from domain.actors import Actor, Role
from domain.errors import NotAllowed, ValidationFailed
from domain.sla import SlaStatus
from domain.ticket import Ticket


class TicketQueries:
    """What the caller may see of one ticket."""

    store: TicketingStore

    def ticket(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> Ticket:
        """A ticket the caller may see, now or (admins, auditors) at a version or a time."""
        ticket = self.store.visible_ticket(actor, ticket_id)
        if version is None and as_of is None:
            return ticket
        if actor.role not in (Role.ADMIN, Role.AUDITOR):
            raise NotAllowed("only admins and auditors may read past states")
        if as_of is not None:
            versions = [
                e.originator_version
                for e in self.store.events.get(ticket.id)
                if cast(Any, e).timestamp <= as_of
            ]
            if not versions:
                raise TicketNotFound(ticket_id)
            version = versions[-1] if version is None else min(version, versions[-1])
        assert version is not None
        if not 1 <= version <= ticket.version:
            raise ValidationFailed({"version": [f"must be from 1 to {ticket.version}"]})
        past: Aggregate = self.store.repository.get(ticket.id, version=version)
        assert isinstance(past, Ticket)
        return past

    def sla(self, ticket: Ticket, *, at: datetime | None = None) -> SlaStatus:
        """The ticket's service-level clocks as of ``at`` (now by default)."""
        return self.store.service_level.of(ticket, at or self.store.clock.now())

    def history(self, actor: Actor, ticket_id: str) -> list[HistoryEntry]:
        """Every event of a ticket the caller may see, oldest first (to a user, staff notes
        do not exist)."""
        ticket = self.store.visible_ticket(actor, ticket_id)
        entries = (history_entry(e) for e in self.store.events.get(ticket.id))
        if permissions.sees_notes(actor):
            return list(entries)
        # numbered as the user counts: without the notes, and without a gap where one stood
        seen = (entry for entry in entries if entry.type not in STAFF_ONLY_TYPES)
        return [replace(entry, version=number) for number, entry in enumerate(seen, 1)]

    def is_member(self, workspace_id: str, account_id: str) -> bool:
        """Whether an account is a current member of a live workspace."""
        return self.store.is_member(workspace_id, account_id)

    def cached_membership(self, workspace_id: str, account_id: str) -> CachedMembership | None:
        """Membership as this process's cached copy of the workspace has it, with the probe
        that confirms it within a query's own round trip (``TicketingStore``)."""
        return self.store.cached_membership(workspace_id, account_id)
