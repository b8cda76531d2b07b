"""Platform facts learnt over Kafka: membership, dissolution, cancellation (CONTRACT.md §3.1).

Each command takes the Kafka offset it was read at, if any: the offset is saved in the same
transaction as the effect, or alone when the message changes nothing (a duplicate), so a
redelivered message never has a second effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.recorder import ConsumedOffset
from application.store import EventStore
from domain import content
from domain.platform import Account, Workspace
from domain.status import CloseReason

log = logging.getLogger(__name__)


class PlatformFacts(EventStore):
    """Applies platform events once each; closes tickets when an account or workspace goes."""

    def member_joined(
        self,
        workspace_id: str,
        account_id: str,
        platform_event_id: str,
        consumed: ConsumedOffset | None = None,
    ) -> bool:
        """MemberJoined; False if this platform event was applied before."""
        content.check_identifiers(workspace_id=workspace_id, account_id=account_id)
        return self._on_workspace(
            workspace_id,
            platform_event_id,
            lambda ws, now: ws.join(account_id, platform_event_id, at=now),
            consumed,
        )

    def member_left(
        self,
        workspace_id: str,
        account_id: str,
        platform_event_id: str,
        consumed: ConsumedOffset | None = None,
    ) -> bool:
        """MemberLeft; False if this platform event was applied before."""
        content.check_identifiers(workspace_id=workspace_id, account_id=account_id)
        return self._on_workspace(
            workspace_id,
            platform_event_id,
            lambda ws, now: ws.leave(account_id, platform_event_id, at=now),
            consumed,
        )

    def workspace_dissolved(
        self, workspace_id: str, platform_event_id: str, consumed: ConsumedOffset | None = None
    ) -> bool:
        """WorkspaceDissolved: every ticket of the workspace not yet closed closes."""
        content.check_identifiers(workspace_id=workspace_id)

        def change(workspace: Workspace, now: datetime) -> list[Aggregate]:
            workspace.dissolve(platform_event_id, at=now)
            return self._close_all(workspace.ticket_ids, CloseReason.WORKSPACE_DISSOLVED, now)

        return self._on_workspace(workspace_id, platform_event_id, change, consumed)

    def account_cancelled(
        self, account_id: str, platform_event_id: str, consumed: ConsumedOffset | None = None
    ) -> bool:
        """AccountCancelled: every ticket of the account not yet closed closes."""
        content.check_identifiers(account_id=account_id)

        def attempt() -> bool:
            now = self.clock.now()
            account = self._find(Account, Account.create_id(account_id)) or Account(
                account_id=account_id, timestamp=now
            )
            if account.has_seen(platform_event_id):
                self._skip(consumed)
                return False
            account.cancel(platform_event_id, at=now)
            closed = self._close_all(account.ticket_ids, CloseReason.ACCOUNT_CANCELLED, now)
            self._save(account, *closed, consumed=consumed)
            log.info("account %s cancelled: %d tickets closed", account_id, len(closed))
            return True

        return self._retrying(attempt)

    def skip_message(self, consumed: ConsumedOffset) -> None:
        """Move past a message that has no effect (unknown type, dead-lettered)."""
        self._recorder.record_offset(consumed)

    def consumer_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """Where a consumer group is, per (topic, partition), as recorded with the effects."""
        return self._recorder.consumer_offsets(group)

    def _skip(self, consumed: ConsumedOffset | None) -> None:
        if consumed is not None:
            self._recorder.record_offset(consumed)

    def _on_workspace(
        self,
        workspace_id: str,
        platform_event_id: str,
        change: Callable[[Workspace, datetime], list[Aggregate] | None],
        consumed: ConsumedOffset | None,
    ) -> bool:
        def attempt() -> bool:
            now = self.clock.now()
            workspace = self._find(Workspace, Workspace.create_id(workspace_id)) or Workspace(
                workspace_id=workspace_id, timestamp=now
            )
            if workspace.has_seen(platform_event_id):
                self._skip(consumed)
                return False
            others = change(workspace, now) or []
            self._save(workspace, *others, consumed=consumed)
            return True

        return self._retrying(attempt)

    def _close_all(
        self, ticket_ids: list[str], reason: CloseReason, now: datetime
    ) -> list[Aggregate]:
        tickets = [self._get_ticket(UUID(ticket_id)) for ticket_id in ticket_ids]
        return [t for t in tickets if t.close_by_platform(reason, at=now)]
