"""Facts learnt from the platform over Kafka, recorded as events so auditors can replay them.

A workspace knows its current members and whether it was dissolved; an account whether it was
cancelled. Which tickets each owns, and which platform events were applied, live beside the
events (``application.gates``), so that neither aggregate grows with its tickets or with the
platform's messages. Events from before that change (``TicketFiled``) still replay; they
change nothing now.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.content import check_identifiers
from domain.copying import CheapCopy
from domain.errors import NotAllowed

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ticketing:platform")


class Workspace(CheapCopy, Aggregate):
    """A workspace's current members and whether it was dissolved."""

    @staticmethod
    @lru_cache(maxsize=10_000)  # a hash per call, on every command of a member
    def create_id(workspace_id: str) -> UUID:
        """One aggregate per platform workspace id."""
        return uuid5(_NAMESPACE, f"workspace:{workspace_id}")

    @event("Registered")
    def __init__(self, workspace_id: str, timestamp: datetime) -> None:
        self.workspace_id = workspace_id
        self.members: dict[str, bool] = {}
        self.dissolved = False

    def is_member(self, account_id: str) -> bool:
        """A current member of a workspace that still exists."""
        return not self.dissolved and account_id in self.members

    def check_can_submit(self, actor: Actor) -> None:
        """Only current members of a live workspace may submit to it."""
        if not self.is_member(actor.account_id):
            raise NotAllowed("only current members of the workspace may submit tickets to it")

    def join(self, account_id: str, platform_event_id: str, *, at: datetime) -> None:
        """MemberJoined (ignored for membership once the workspace is dissolved)."""
        check_identifiers(account_id=account_id)
        self._record_member_joined(
            account_id=account_id, platform_event_id=platform_event_id, timestamp=at
        )

    def leave(self, account_id: str, platform_event_id: str, *, at: datetime) -> None:
        """MemberLeft."""
        check_identifiers(account_id=account_id)
        self._record_member_left(
            account_id=account_id, platform_event_id=platform_event_id, timestamp=at
        )

    def dissolve(self, platform_event_id: str, *, at: datetime) -> None:
        """WorkspaceDissolved: nobody is a member any more, for good."""
        self._record_dissolved(platform_event_id=platform_event_id, timestamp=at)

    @event("MemberJoined")
    def _record_member_joined(
        self, account_id: str, platform_event_id: str, timestamp: datetime
    ) -> None:
        if not self.dissolved:
            self.members[account_id] = True

    @event("MemberLeft")
    def _record_member_left(
        self, account_id: str, platform_event_id: str, timestamp: datetime
    ) -> None:
        self.members.pop(account_id, None)

    @event("Dissolved")
    def _record_dissolved(self, platform_event_id: str, timestamp: datetime) -> None:
        self.dissolved = True
        self.members = {}

    @event("TicketFiled")
    def _record_ticket_filed(self, ticket_id: str, timestamp: datetime) -> None:
        """Recorded by older versions with each submission; changes nothing now."""


class Account(CheapCopy, Aggregate):
    """A platform account: whether it was cancelled."""

    @staticmethod
    @lru_cache(maxsize=10_000)
    def create_id(account_id: str) -> UUID:
        """One aggregate per platform account id."""
        return uuid5(_NAMESPACE, f"account:{account_id}")

    @event("Registered")
    def __init__(self, account_id: str, timestamp: datetime) -> None:
        self.account_id = account_id
        self.cancelled = False

    def cancel(self, platform_event_id: str, *, at: datetime) -> None:
        """AccountCancelled."""
        self._record_cancelled(platform_event_id=platform_event_id, timestamp=at)

    @event("Cancelled")
    def _record_cancelled(self, platform_event_id: str, timestamp: datetime) -> None:
        self.cancelled = True

    @event("TicketFiled")
    def _record_ticket_filed(self, ticket_id: str, timestamp: datetime) -> None:
        """Recorded by older versions with each submission; changes nothing now."""
