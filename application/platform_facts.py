"""Platform facts learnt over Kafka: membership, dissolution, cancellation (CONTRACT.md §3.1)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.store import EventStore
from domain.platform import Account, Workspace
from domain.status import CloseReason

log = logging.getLogger(__name__)


class PlatformFacts(EventStore):
    """Applies platform events once each; closes tickets when an account or workspace goes."""

    def member_joined(self, workspace_id: str, account_id: str, platform_event_id: str) -> bool:
        """MemberJoined; False if this platform event was applied before."""
        return self._on_workspace(
            workspace_id,
            platform_event_id,
            lambda ws, now: ws.join(account_id, platform_event_id, at=now),
        )

    def member_left(self, workspace_id: str, account_id: str, platform_event_id: str) -> bool:
        """MemberLeft; False if this platform event was applied before."""
        return self._on_workspace(
            workspace_id,
            platform_event_id,
            lambda ws, now: ws.leave(account_id, platform_event_id, at=now),
        )

    def workspace_dissolved(self, workspace_id: str, platform_event_id: str) -> bool:
        """WorkspaceDissolved: every ticket of the workspace not yet closed closes."""

        def change(workspace: Workspace, now: datetime) -> list[Aggregate]:
            workspace.dissolve(platform_event_id, at=now)
            return self._close_all(workspace.ticket_ids, CloseReason.WORKSPACE_DISSOLVED, now)

        return self._on_workspace(workspace_id, platform_event_id, change)

    def account_cancelled(self, account_id: str, platform_event_id: str) -> bool:
        """AccountCancelled: every ticket of the account not yet closed closes."""

        def attempt() -> bool:
            now = self.clock.now()
            account = self._find(Account, Account.create_id(account_id)) or Account(
                account_id=account_id, timestamp=now
            )
            if account.has_seen(platform_event_id):
                return False
            account.cancel(platform_event_id, at=now)
            closed = self._close_all(account.ticket_ids, CloseReason.ACCOUNT_CANCELLED, now)
            self._save(account, *closed)
            log.info("account %s cancelled: %d tickets closed", account_id, len(closed))
            return True

        return self._retrying(attempt)

    def is_member(self, workspace_id: str, account_id: str) -> bool:
        """Whether an account is a current member of a live workspace."""
        workspace = self._find(Workspace, Workspace.create_id(workspace_id))
        return workspace is not None and workspace.is_member(account_id)

    def _on_workspace(
        self,
        workspace_id: str,
        platform_event_id: str,
        change: Callable[[Workspace, datetime], list[Aggregate] | None],
    ) -> bool:
        def attempt() -> bool:
            now = self.clock.now()
            workspace = self._find(Workspace, Workspace.create_id(workspace_id)) or Workspace(
                workspace_id=workspace_id, timestamp=now
            )
            if workspace.has_seen(platform_event_id):
                return False
            others = change(workspace, now) or []
            self._save(workspace, *others)
            return True

        return self._retrying(attempt)

    def _close_all(
        self, ticket_ids: list[str], reason: CloseReason, now: datetime
    ) -> list[Aggregate]:
        tickets = [self._get_ticket(UUID(ticket_id)) for ticket_id in ticket_ids]
        return [t for t in tickets if t.close_by_platform(reason, at=now)]
