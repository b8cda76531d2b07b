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

from application.gates import ACCOUNT, WORKSPACE
from application.records import Alongside, ConsumedOffset, Gate
from application.store import TicketingStore
from domain import content
from domain.platform import Account, Workspace
from domain.status import CloseReason

log = logging.getLogger(__name__)
Consumed = ConsumedOffset | None  # the offset a Kafka message was read at, if it came so
CLOSE_BATCH = 200  # tickets closed per transaction when a workspace or an account goes
# recorded with the last batch of such a sweep, where platform event ids are kept: "done"
SWEPT = "ticketing:swept"


class PlatformFacts:
    """Applies platform events once each; closes tickets when an account or workspace goes."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store

    def member_joined(
        self, workspace_id: str, account_id: str, event_id: str, consumed: Consumed = None
    ) -> bool:
        """MemberJoined; False if this platform event was applied before."""
        return self._membership(Workspace.join, workspace_id, account_id, event_id, consumed)

    def member_left(
        self, workspace_id: str, account_id: str, event_id: str, consumed: Consumed = None
    ) -> bool:
        """MemberLeft; False if this platform event was applied before."""
        return self._membership(Workspace.leave, workspace_id, account_id, event_id, consumed)

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
            if self.store.ledger.was_applied(platform_event_id):
                return False
            now = self.store.clock.now()
            account = self.store.find(Account, Account.create_id(account_id)) or Account(
                account_id=account_id, timestamp=now
            )
            account.cancel(platform_event_id, at=now)
            gate = Gate(ACCOUNT, account_id)
            self.store.commit(
                account, alongside=Alongside(gate=gate, platform_event_id=platform_event_id)
            )
            return True

        applied = self.store.retrying(attempt)
        closed = self._close_all(Gate(ACCOUNT, account_id), CloseReason.ACCOUNT_CANCELLED, consumed)
        if applied:
            log.info("account %s cancelled: %d tickets closed", account_id, closed)
        return applied

    def _membership(
        self,
        change: Callable[..., None],
        workspace_id: str,
        account_id: str,
        event_id: str,
        consumed: Consumed,
    ) -> bool:
        content.check_identifiers(workspace_id=workspace_id, account_id=account_id)
        return self._on_workspace(
            workspace_id,
            event_id,
            lambda ws, now: change(ws, account_id, event_id, at=now),
            consumed,
        )

    def _skip(self, consumed: ConsumedOffset | None) -> None:
        if consumed is not None:
            self.store.ledger.record_offset(consumed)

    def _on_workspace(
        self,
        workspace_id: str,
        platform_event_id: str,
        change: Callable[[Workspace, datetime], None],
        consumed: ConsumedOffset | None,
        gate: Gate | None = None,
    ) -> bool:
        def attempt() -> bool:
            if self.store.ledger.was_applied(platform_event_id):
                self._skip(consumed)
                return False
            now = self.store.clock.now()
            workspace = self.store.find(Workspace, Workspace.create_id(workspace_id)) or Workspace(
                workspace_id=workspace_id, timestamp=now
            )
            change(workspace, now)
            alongside = Alongside(consumed=consumed, gate=gate, platform_event_id=platform_event_id)
            self.store.commit(workspace, alongside=alongside)
            return True

        return self.store.retrying(attempt)

    def _close_all(self, gate: Gate, reason: CloseReason, consumed: ConsumedOffset | None) -> int:
        """Close every ticket filed under a closed gate that is still open, in batches; the
        consumed offset commits with the last batch. Run after the gate closed, the owners'
        table holds every ticket the gate let through, and running it again (a redelivered
        message after a crash halfway) closes what is left.

        The last batch also records that the sweep is done (no ticket can be filed under a
        closed gate, so it stays done): a message delivered again afterwards loads none of
        the tickets again (a workspace of 100,000 meant 100,000 aggregate reads)."""
        swept = f"{SWEPT} {gate.kind} {gate.key}"
        if self.store.ledger.was_applied(swept):
            self._skip(consumed)
            return 0
        ticket_ids = self.store.ledger.tickets_owned(gate)
        closed = 0
        for start in range(0, len(ticket_ids), CLOSE_BATCH):
            batch = ticket_ids[start : start + CLOSE_BATCH]
            last = start + CLOSE_BATCH >= len(ticket_ids)

            def attempt(batch: list[UUID] = batch, last: bool = last) -> int:
                if last and self.store.ledger.was_applied(swept):  # another delivery's sweep
                    self._skip(consumed)
                    return 0
                now = self.store.clock.now()
                tickets = [self.store.get_ticket(ticket_id) for ticket_id in batch]
                closing = [t for t in tickets if t.close_by_platform(reason, at=now)]
                done = Alongside(consumed=consumed, platform_event_id=swept)
                self.store.commit(*closing, alongside=done if last else Alongside())
                return len(closing)

            closed += self.store.retrying(attempt)
        if not ticket_ids:
            self._skip(consumed)
        return closed
