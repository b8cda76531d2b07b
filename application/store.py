"""The event store every use case shares: bounded retries, saving, loading.

Each command loads what it needs, lets the domain decide, and saves all changed
aggregates in one transaction. A save that loses a race on an aggregate version is
retried from the start (bounded); an explicit expected version (``If-Match``) is not.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, EventStore, IntegrityError
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import strtobool

from application.blobs import BlobStore, PostgresBlobStore
from application.clock import Clock
from application.database import DeadlineExceeded, remaining, schema_lock
from application.errors import Contention, TicketNotFound
from application.gates import Gate, TicketOwner
from application.numbers import PostgresTicketNumbers
from application.recorder import (
    AttachmentReference,
    ConsumedOffset,
    IdempotencyRecord,
    OutboxMessage,
    TicketingRecorder,
    VerificationRequest,
)
from application.service_level import ServiceLevel
from domain.actors import Actor
from domain.handlers import HandlerRoster
from domain.platform import Account, Workspace
from domain.ticket import Ticket

log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


class _DeadlineLock:
    """A fast-forward lock whose blocking acquire ends at the caller's database deadline."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def acquire(self, blocking: bool = True) -> bool:
        """Acquire as ``threading.Lock`` does, but give up (503) when the deadline passes."""
        left = remaining()
        if not blocking or left is None:
            return self._lock.acquire(blocking)
        if self._lock.acquire(timeout=max(left, 0)):
            return True
        raise DeadlineExceeded("another request reading the same record did not finish in time")

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()


class DeadlineRepository(Repository[UUID]):
    """eventsourcing's repository, whose per-aggregate lock honours database deadlines.

    A cached aggregate is brought up to date under a lock held while its new events are read;
    with the database stalled, every other request for the same aggregate would queue behind
    that read without bound (eventsourcing 9.5.6), past its own deadline.
    """

    def _use_fastforward_lock(self, aggregate_id: UUID) -> threading.Lock:
        return cast(threading.Lock, _DeadlineLock(super()._use_fastforward_lock(aggregate_id)))


class TicketingStore(Application[UUID]):
    """The ticketing event store with the helpers every use case needs."""

    snapshotting_intervals = {Ticket: 50, Workspace: 50, Account: 50, HandlerRoster: 50}

    def __init__(
        self,
        env: dict[str, str],
        *,
        clock: Clock,
        default_assignee: str,
        attempts: int = 20,
        code_key: bytes = b"",
        blobs: Callable[[PostgresDatastore], BlobStore] = PostgresBlobStore,
        service_level: ServiceLevel | None = None,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.default_assignee = default_assignee
        self.attempts = attempts
        self.code_key = code_key
        self.blobs = blobs(self.datastore)
        self.service_level = service_level or ServiceLevel()
        self.numbers = PostgresTicketNumbers(self.datastore)

    def construct_recorder(self) -> ApplicationRecorder:
        """The events recorder, its tables created under the schema lock."""
        with schema_lock(self.datastore):
            return super().construct_recorder()

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, with waits bounded by database deadlines."""
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return DeadlineRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """The snapshot store, its table created under the schema lock."""
        with schema_lock(self.datastore):
            return super().construct_snapshot_store()

    @property
    def datastore(self) -> PostgresDatastore:
        """The PostgreSQL connection pool of the event store."""
        return cast(PostgresFactory, self.factory).datastore

    def ping_database(self) -> None:
        """Raise unless the event store's database answers."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT 1")

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except IntegrityError:
                if number == self.attempts:
                    break
                log.debug("lost a write race (attempt %d); retrying", number)
                time.sleep(random.uniform(0, 0.002 * number))  # noqa: S311 - jitter only
        raise Contention(f"gave up after {self.attempts} conflicting attempts")

    def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest messages waiting in the outbox."""
        return self._recorder.outbox_batch(limit)

    def delete_outbox(self, ids: Sequence[int]) -> None:
        """Forget outbox messages once published."""
        self._recorder.delete_outbox(ids)

    def publisher_position(self, publisher: str) -> int:
        """The last store position a publisher has relayed."""
        return self._recorder.publisher_position(publisher)

    def set_publisher_position(self, publisher: str, position: int) -> None:
        """Record that a publisher has relayed everything up to ``position``."""
        self._recorder.set_publisher_position(publisher, position)

    def forget_broker_positions(self) -> None:
        """The broker lost its logs: consume from the start, publish everything again."""
        self._recorder.forget_broker_positions()

    @property
    def _recorder(self) -> TicketingRecorder:
        return cast(TicketingRecorder, self.recorder)

    def _save(
        self,
        *aggregates: Aggregate,
        idempotency: IdempotencyRecord | None = None,
        consumed: ConsumedOffset | None = None,
        outbox: Sequence[OutboxMessage] = (),
        verification_request: VerificationRequest | None = None,
        attachment_references: Sequence[AttachmentReference] = (),
        ticket_owner: TicketOwner | None = None,
        gate: Gate | None = None,
        platform_event_id: str | None = None,
    ) -> int:
        """Save in one transaction, with what must commit alongside; returns the last position."""
        recordings = self.save(
            *aggregates,
            idempotency=idempotency,
            consumed=consumed,
            outbox=outbox,
            verification_request=verification_request,
            attachment_references=attachment_references,
            ticket_owner=ticket_owner,
            gate=gate,
            platform_event_id=platform_event_id,
        )
        return max((r.notification.id for r in recordings), default=0)

    def _get_ticket(self, ticket_id: UUID) -> Ticket:
        ticket = self._find(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(str(ticket_id))
        return ticket

    def _find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def is_member(self, workspace_id: str, account_id: str) -> bool:
        """Whether an account is a current member of a live workspace."""
        workspace = self._find(Workspace, Workspace.create_id(workspace_id))
        return workspace is not None and workspace.is_member(account_id)

    def _visible_ticket(self, actor: Actor, ticket_id: str) -> Ticket:
        try:
            ticket = self._get_ticket(UUID(ticket_id))
        except ValueError:
            raise TicketNotFound(ticket_id) from None
        if ticket.is_visible_to_staff(actor):
            return ticket
        if self.is_member(ticket.workspace_id, actor.account_id):
            return ticket
        raise TicketNotFound(ticket_id)
