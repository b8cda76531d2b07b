"""Platform facts learnt over Kafka: membership, dissolution, cancellation (CONTRACT.md §3.1).

Each command takes the Kafka offset it was read at, if any: the offset is saved in the same
transaction as the effect, or alone when the message changes nothing (a duplicate), so a
redelivered message never has a second effect. A dissolution or a cancellation first closes the
gate of the workspace or account (no submission gets through after it), then closes its
tickets in batches, the offset with the last one (``application.gates``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from application.gates import ACCOUNT, WORKSPACE, Gate
from application.recorder import ConsumedOffset
from application.store import TicketingStore
from domain import content
from domain.platform import Account, Workspace
from domain.status import CloseReason

log = logging.getLogger(__name__)
CLOSE_BATCH = 200  # tickets closed per transaction when a workspace or an account goes


class PlatformFacts(TicketingStore):
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
        applied = self._on_workspace(
            workspace_id,
            platform_event_id,
            lambda ws, now: ws.dissolve(platform_event_id, at=now),
            None,
            gate=Gate(WORKSPACE, workspace_id),
        )
        self._close_all(Gate(WORKSPACE, workspace_id), CloseReason.WORKSPACE_DISSOLVED, consumed)
        return applied

    def account_cancelled(
        self, account_id: str, platform_event_id: str, consumed: ConsumedOffset | None = None
    ) -> bool:
        """AccountCancelled: every ticket of the account not yet closed closes."""
        content.check_identifiers(account_id=account_id)

        def attempt() -> bool:
            if self._recorder.was_applied(platform_event_id):
                return False
            now = self.clock.now()
            account = self._find(Account, Account.create_id(account_id)) or Account(
                account_id=account_id, timestamp=now
            )
            account.cancel(platform_event_id, at=now)
            gate = Gate(ACCOUNT, account_id)
            self._save(account, gate=gate, platform_event_id=platform_event_id)
            return True

        applied = self._retrying(attempt)
        closed = self._close_all(Gate(ACCOUNT, account_id), CloseReason.ACCOUNT_CANCELLED, consumed)
        if applied:
            log.info("account %s cancelled: %d tickets closed", account_id, closed)
        return applied

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
        change: Callable[[Workspace, datetime], None],
        consumed: ConsumedOffset | None,
        gate: Gate | None = None,
    ) -> bool:
        def attempt() -> bool:
            if self._recorder.was_applied(platform_event_id):
                self._skip(consumed)
                return False
            now = self.clock.now()
            workspace = self._find(Workspace, Workspace.create_id(workspace_id)) or Workspace(
                workspace_id=workspace_id, timestamp=now
            )
            change(workspace, now)
            self._save(workspace, consumed=consumed, gate=gate, platform_event_id=platform_event_id)
            return True

        return self._retrying(attempt)

    def _close_all(self, gate: Gate, reason: CloseReason, consumed: ConsumedOffset | None) -> int:
        """Close every ticket filed under a closed gate that is still open, in batches; the
        consumed offset commits with the last batch. Run after the gate closed, the owners'
        table holds every ticket the gate let through, and running it again (a redelivered
        message after a crash halfway) closes what is left."""
        ticket_ids = self._recorder.tickets_owned(gate)
        closed = 0
        for start in range(0, len(ticket_ids), CLOSE_BATCH):
            batch = ticket_ids[start : start + CLOSE_BATCH]
            last = start + CLOSE_BATCH >= len(ticket_ids)

            def attempt(batch: list[UUID] = batch, last: bool = last) -> int:
                now = self.clock.now()
                tickets = [self._get_ticket(ticket_id) for ticket_id in batch]
                closing = [t for t in tickets if t.close_by_platform(reason, at=now)]
                self._save(*closing, consumed=consumed if last else None)
                return len(closing)

            closed += self._retrying(attempt)
        if not ticket_ids:
            self._skip(consumed)
        return closed
