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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, EventStore, IntegrityError
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import strtobool
from psycopg.sql import Composed

from application.blobs import BlobStore
from application.clock import Clock
from application.database import schema_lock
from application.errors import Contention, TicketNotFound
from application.ports import Infrastructure, Ledger
from application.recorder import TicketingRecorder
from application.records import NOTHING_ELSE, Alongside
from application.repository import DeadlineRepository
from application.sealing import SealedSnapshots
from application.service_level import ServiceLevel
from domain.actors import Actor
from domain.canned_replies import CannedReplies
from domain.handlers import HandlerRoster
from domain.platform import Account, Workspace
from domain.ticket import Ticket

log = logging.getLogger(__name__)
REMEMBERED_MAXSIZE = 10_000  # ids remembered as having no aggregate
T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


class _Reads(threading.local):
    """What the current command attempt read, in this thread (``TicketingStore.retrying``)."""

    def __init__(self) -> None:
        self.optimistic = False  # serve cached aggregates as they are, check them at commit
        self.versions: dict[UUID, int] = {}
        self.from_cache = False
        self.committed = False
        self.cached_changes: set[UUID] = set()  # copies taken from the cache to be changed

    def start(self, optimistic: bool) -> None:
        self.restore((optimistic, {}, False, False, set()))

    def state(self) -> tuple[bool, dict[UUID, int], bool, bool, set[UUID]]:
        return self.optimistic, self.versions, self.from_cache, self.committed, self.cached_changes

    def restore(self, state: tuple[bool, dict[UUID, int], bool, bool, set[UUID]]) -> None:
        (self.optimistic, self.versions, self.from_cache, self.committed,
         self.cached_changes) = state  # fmt: skip


@dataclass(frozen=True)
class CachedMembership:
    """What this process's cached copy of a workspace says of an account (``member``), the
    copy's ``version``, and ``probe``: SQL worth the workspace's current version. A query
    that selects the probe beside its rows learns in the same round trip whether the copy
    was current; if it was, ``member`` is what a fresh read would have said."""

    member: bool
    version: int
    probe: tuple[Composed, tuple[Any, ...]]


class TicketingStore(Application[UUID]):
    """The ticketing event store and the ports every use case shares: loading, saving in one
    transaction with what must commit alongside, bounded retries of lost write races.

    What a command only consults (the workspace for membership, the handler roster, an
    account) is read optimistically: the copy this process has cached is used as it is, and
    the commit checks, after taking the events table's lock, that it has not changed
    (``Alongside.unchanged``); a command that read stale state fails there and is retried on
    fresh reads, and one refused on cached state is decided again on fresh reads before the
    refusal stands. What a command changes (the ticket) is also taken from the cache, as a
    copy, until a commit of it loses a write race in this process: the API's processes take
    turns on a conversation's commands, and a stale copy costs a failed commit each time, so
    from then on this process reads that aggregate fresh (``docs/benchmarks.md``). Queries
    always read fresh.

    Which persistence it runs on is eventsourcing's ``PERSISTENCE_MODULE``: PostgreSQL
    (``application.database``) or memory (``application.memory``, for application tests).
    """

    name = "ticketing"  # the projection follows its notifications by this name
    snapshotting_intervals = {
        Ticket: 50, Workspace: 50, Account: 50, HandlerRoster: 50, CannedReplies: 50
    }  # fmt: skip

    def __init__(
        self,
        env: dict[str, str],
        *,
        clock: Clock,
        default_assignee: str,
        attempts: int = 20,
        code_key: bytes = b"",
        seal_key: bytes = b"",
        signing_key: bytes = b"",
        blobs: BlobStore | None = None,
        service_level: ServiceLevel | None = None,
    ) -> None:
        self.seal_key = seal_key  # before the snapshot store is built, in super().__init__
        super().__init__(env=env)
        self.signing_key = signing_key
        if isinstance(self.recorder, TicketingRecorder):
            self.recorder.signing_key = signing_key
        self.clock = clock
        self.default_assignee = default_assignee
        self.attempts = attempts
        self.code_key = code_key
        self.service_level = service_level or ServiceLevel()
        self.ledger: Ledger = self.infrastructure.ledger()
        self.numbers = self.infrastructure.ticket_numbers()
        self.attachment_index = self.infrastructure.attachment_index()
        self.blobs = blobs or self.infrastructure.blob_store()
        self._reads = _Reads()
        self._absent: set[UUID] = set()  # ids found to have no events (for optimistic reads)
        # aggregates whose cached copy lost a write race here: another process writes them
        # too (a load balancer spreads a conversation over the API's processes), so they are
        # read fresh from then on rather than fail every other commit
        self._contended: set[UUID] = set()
        self.retries = 0  # attempts lost to a write race or a stale read, since start

    @property
    def infrastructure(self) -> Infrastructure:
        """The persistence factory's ports."""
        return cast(Infrastructure, self.factory)

    def head(self) -> int:
        """The store's last position (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def construct_recorder(self) -> ApplicationRecorder:
        """The events recorder, its tables created under the schema lock."""
        with self._schema_lock():
            return super().construct_recorder()

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """The snapshot store, sealed with ``seal_key`` (``application.sealing``), its table
        created under the schema lock."""
        with self._schema_lock():
            recorder = self.factory.aggregate_recorder(purpose="snapshots")
        return SealedSnapshots(self.mapper, recorder, self.seal_key)

    def _schema_lock(self) -> AbstractContextManager[None]:
        if isinstance(self.factory, PostgresFactory):
            return schema_lock(self.factory.datastore)
        return nullcontext()

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

    @property
    def datastore(self) -> PostgresDatastore:
        """The PostgreSQL connection pool of the event store (PostgreSQL persistence only)."""
        return cast(PostgresFactory, self.factory).datastore

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it saves without losing a write race (bounded, jittered):
        first on cached reads, then on fresh ones."""
        reads, outer = self._reads, self._reads.state()
        optimistic = self.repository.cache is not None
        number = 0
        try:
            while True:
                number += 1
                reads.start(optimistic)
                try:
                    return attempt()
                except IntegrityError:
                    self._remember(self._contended, *reads.cached_changes)
                    if number >= self.attempts:
                        raise Contention(
                            f"gave up after {self.attempts} conflicting attempts"
                        ) from None
                    log.debug("lost a write race (attempt %d); retrying", number)
                    self.retries += 1
                    if not reads.from_cache:  # a race with another writer: let it finish
                        time.sleep(random.uniform(0, 0.002 * number))  # noqa: S311 - jitter only
                    optimistic = False  # a stale copy: read fresh, at once
                except Exception:
                    if not (optimistic and reads.from_cache and not reads.committed):
                        raise
                    optimistic = False  # refused on cached state: decide again on fresh
        finally:
            reads.restore(outer)

    def commit(self, *aggregates: Aggregate, alongside: Alongside = NOTHING_ELSE) -> int:
        """Save the aggregates' new events in one transaction with what must commit alongside
        them (``application.records``); returns the last position."""
        written = {aggregate.id for aggregate in aggregates}
        unchanged = tuple(
            (aggregate_id, version)
            for aggregate_id, version in self._reads.versions.items()
            if aggregate_id not in written
        )
        if unchanged:
            alongside = replace(alongside, unchanged=alongside.unchanged + unchanged)
        recordings = self.save(*aggregates, alongside=alongside)
        self._reads.committed = True
        cache = self.repository.cache
        for aggregate in aggregates:
            self._absent.discard(aggregate.id)
            if cache is not None:  # the next command starts from what this one wrote
                cache.put(aggregate.id, deepcopy(aggregate))
        return max((r.notification.id for r in recordings), default=0)

    def get_ticket(self, ticket_id: UUID) -> Ticket:
        """A ticket, or :class:`TicketNotFound`."""
        ticket = self.find(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(str(ticket_id))
        return ticket

    def find(self, kind: type[A], aggregate_id: UUID, *, read_only: bool = False) -> A | None:
        """The aggregate of this kind with this id, if there is one; ``read_only`` when the
        caller will not change it (no private copy is made)."""
        reads = self._reads
        if reads.optimistic and read_only:
            if aggregate_id in self._absent:  # checked at commit like any other read
                reads.versions[aggregate_id] = 0
                reads.from_cache = True
                return None
            cached = self._cached(aggregate_id)
            if cached is not None:
                reads.versions[aggregate_id] = cached.version
                reads.from_cache = True
                return cached if isinstance(cached, kind) else None
        elif reads.optimistic and aggregate_id not in self._contended:
            # to be changed: a copy of the cached aggregate; a newer event stored meanwhile
            # makes the commit a unique violation (the next version is taken), and the
            # command is retried on a fresh read
            cached = self._cached(aggregate_id)
            if isinstance(cached, kind):
                reads.versions[aggregate_id] = cached.version
                reads.from_cache = True
                reads.cached_changes.add(aggregate_id)
                return deepcopy(cached)
        try:
            aggregate: Aggregate = self.repository.get(
                aggregate_id, deepcopy_from_cache=not read_only
            )
        except AggregateNotFoundError:
            self._remember(self._absent, aggregate_id)
            if reads.optimistic:
                reads.versions[aggregate_id] = 0
            return None
        self._absent.discard(aggregate_id)
        if reads.optimistic:
            reads.versions[aggregate_id] = aggregate.version
        return aggregate if isinstance(aggregate, kind) else None

    @staticmethod
    def _remember(ids: set[UUID], *new: UUID) -> None:
        if len(ids) >= REMEMBERED_MAXSIZE:
            ids.clear()  # bounded: forgetting only costs a read
        ids.update(new)

    def _cached(self, aggregate_id: UUID) -> Aggregate | None:
        """The cached aggregate as it is (not to be changed), or None."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            cached = cast(Aggregate, cache.get(aggregate_id))
        except KeyError:
            return None
        return cached

    def is_member(self, workspace_id: str, account_id: str) -> bool:
        """Whether an account is a current member of a live workspace."""
        workspace = self.find(Workspace, Workspace.create_id(workspace_id), read_only=True)
        return workspace is not None and workspace.is_member(account_id)

    def cached_membership(self, workspace_id: str, account_id: str) -> CachedMembership | None:
        """What the cached copy of a workspace says of an account, with its probe; None
        without a copy (or without PostgreSQL), when only :meth:`is_member` can tell."""
        recorder = self.recorder
        workspace_key = Workspace.create_id(workspace_id)
        cached = self._cached(workspace_key)
        if not isinstance(cached, Workspace) or not isinstance(recorder, TicketingRecorder):
            return None
        probe = recorder.version_probe(workspace_key)
        return CachedMembership(cached.is_member(account_id), cached.version, probe)

    def visible_ticket(self, actor: Actor, ticket_id: str) -> Ticket:
        """A ticket the caller may see, or :class:`TicketNotFound` (also for a malformed id)."""
        try:
            ticket = self.get_ticket(UUID(ticket_id))
        except ValueError:
            raise TicketNotFound(ticket_id) from None
        if ticket.is_visible_to_staff(actor):
            return ticket
        if self.is_member(ticket.workspace_id, actor.account_id):
            return ticket
        raise TicketNotFound(ticket_id)
