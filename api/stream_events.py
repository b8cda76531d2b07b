"""What live streams carry, and the reads that find it (``api.streams`` serves them): events
at store positions, the open streams of a process indexed by account, the hub's reads for all
of them at once, and a reconnect's replay for its caller alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed

from domain.actors import Actor, Role
from domain.permissions import sees_notes
from projections.inbox import COLUMNS as NOTIFICATION_COLUMNS
from projections.inbox import with_url
from projections.schema import FOLLOWER
from projections.visibility import TicketChange, sees_change

QUEUE_LIMIT = 1_000  # events waiting for a slow reader; beyond, its stream is closed
REPLAY_DEPTH = 1_000  # rows a reconnect replays at most; deeper, it is told to read afresh
FEED_COLUMNS = (
    "position, ticket_id, version, user_version, status, workspace_id, submitter_id, "
    "assignee_id, staff_only"
)
NOTIFICATION_FIELDS = (
    "notification_id", "account_id", "kind", "ticket_id", "ticket_number", "workspace_id",
    "title", "summary", "occurred_at", "url", "read_at",
)  # fmt: skip


def _json(value: object) -> str:
    def default(item: object) -> str:
        if isinstance(item, datetime):
            return item.isoformat()
        if isinstance(item, UUID):
            return str(item)
        raise TypeError(type(item).__name__)

    return json.dumps(value, default=default, separators=(",", ":"))


@dataclass(eq=False)
class LiveEvent:
    """One event of a stream: at a store position (None: presence, which has none). One
    object serves every stream it goes to, so its text is made once."""

    position: int | None
    name: str
    data: dict[str, Any]
    _text: bytes | None = None

    @property
    def text(self) -> bytes:
        """``event:`` and ``data:`` lines (the id and the blank line are the stream's)."""
        if self._text is None:
            self._text = f"event: {self.name}\ndata: {_json(self.data)}\n".encode()
        return self._text


def encode(events: list[LiveEvent]) -> bytes:
    """The events as SSE, the id on the last event of each position only."""
    parts: list[bytes] = []
    for index, event in enumerate(events):
        parts.append(event.text)
        following = events[index + 1] if index + 1 < len(events) else None
        if event.position is not None and (
            following is None or following.position != event.position
        ):
            parts.append(b"id: %d\n" % event.position)
        parts.append(b"\n")
    return b"".join(parts)


@dataclass(eq=False)
class Subscriber:
    """One open stream: who it is for, and what waits to be sent to it."""

    actor: Actor
    after: int  # the hub hands it only what lies after this position
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def offer(self, chunk: bytes | None) -> None:
        """Queue a chunk; a reader that fell too far behind is closed (it resumes from the
        database when it reconnects)."""
        try:
            self.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            self.queue.put_nowait(None)


class Audience:
    """The open streams of a process, indexed so that a batch costs what it delivers: by
    account, and the streams of callers who read every ticket (admins, auditors)."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self.by_account: dict[str, set[Subscriber]] = {}
        self.everything: set[Subscriber] = set()
        for subscriber in subscribers:
            self.add(subscriber)

    def add(self, subscriber: Subscriber) -> None:
        """Index a stream."""
        self.by_account.setdefault(subscriber.actor.account_id, set()).add(subscriber)
        if subscriber.actor.role in (Role.ADMIN, Role.AUDITOR):
            self.everything.add(subscriber)

    def discard(self, subscriber: Subscriber) -> None:
        """Forget a stream."""
        streams = self.by_account.get(subscriber.actor.account_id, set())
        streams.discard(subscriber)
        if not streams:
            self.by_account.pop(subscriber.actor.account_id, None)
        self.everything.discard(subscriber)

    def __bool__(self) -> bool:
        return bool(self.by_account)

    def __iter__(self) -> Iterator[Subscriber]:
        for streams in self.by_account.values():
            yield from streams


class LiveReads:
    """The queries a hub runs on its own connection, for all its streams at once."""

    def __init__(self, conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()

    async def position(self) -> int:
        async with self.lock:
            cursor = await self.conn.execute(
                "SELECT position FROM follower_positions WHERE name = %s", (FOLLOWER,)
            )
            row = await cursor.fetchone()
        return 0 if row is None else int(row["position"])

    async def events(
        self, after: int, upto: int, audience: Audience
    ) -> dict[Subscriber, list[LiveEvent]]:
        """What each subscriber may see of the positions ``(after, upto]``. The queries name
        positions and workspaces, not the (many) accounts connected: what is read is filtered
        here."""
        async with self.lock:
            feed = await (
                await self.conn.execute(
                    f"SELECT {FEED_COLUMNS} FROM ticket_feed "  # noqa: S608 - fixed text
                    "WHERE position > %s AND position <= %s "
                    "ORDER BY position",
                    (after, upto),
                )
            ).fetchall()
            notes = await (
                await self.conn.execute(
                    f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "  # noqa: S608 - fixed text
                    "WHERE position > %s AND position <= %s ORDER BY position, notification_id",
                    (after, upto),
                )
            ).fetchall()
            workspaces = sorted({row["workspace_id"] for row in feed})
            members: set[tuple[str, str]] = set()
            if workspaces:
                rows = await (
                    await self.conn.execute(
                        "SELECT account_id, workspace_id FROM memberships "
                        "WHERE workspace_id = ANY(%s)",
                        (workspaces,),
                    )
                ).fetchall()
                members = {
                    (row["account_id"], row["workspace_id"])
                    for row in rows
                    if row["account_id"] in audience.by_account
                }
        return _share(feed, notes, members, audience)


class Replay:
    """What a reconnecting stream missed, read for its caller alone: their notifications,
    and the feed of the tickets they may see (every ticket for admins and auditors, a handler's
    assigned ones, a user's workspaces' without staff-only changes), each from an index and
    at most ``REPLAY_DEPTH`` rows. Deeper than that, the stream is told to read afresh
    (``reset``) instead: a reconnect costs what its caller may see, never the platform's."""

    def __init__(self, reads: LiveReads) -> None:
        self.reads = reads

    async def missed(self, actor: Actor, after: int, upto: int) -> bytes:
        """The events of ``(after, upto]`` for the caller, encoded; a ``reset`` if too many."""
        conn = self.reads.conn
        async with self.reads.lock:
            notes = await (
                await conn.execute(
                    f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "  # noqa: S608 - fixed text
                    "WHERE account_id = %s AND position > %s AND position <= %s "
                    "ORDER BY position, notification_id LIMIT %s",
                    (actor.account_id, after, upto, REPLAY_DEPTH + 1),
                )
            ).fetchall()
            workspaces: list[str] = []
            if actor.role is Role.USER:
                rows = await (
                    await conn.execute(
                        "SELECT workspace_id FROM memberships WHERE account_id = %s",
                        (actor.account_id,),
                    )
                ).fetchall()
                workspaces = [row["workspace_id"] for row in rows]
            feed = await (
                await conn.execute(*replayed_feed(actor, workspaces, after, upto))
            ).fetchall()
        if len(notes) > REPLAY_DEPTH or len(feed) > REPLAY_DEPTH:
            return encode([LiveEvent(upto, "reset", {"reason": "missed too much: read afresh"})])
        since = Subscriber(actor, after=after)
        members = {(actor.account_id, workspace) for workspace in workspaces}
        found = _share(feed, notes, members, Audience([since])).get(since, [])
        return encode(found) if found else b""


def replayed_feed(
    actor: Actor, workspaces: list[str], after: int, upto: int
) -> tuple[Composed, tuple[Any, ...]]:
    """The statement and parameters of the feed rows of ``(after, upto]`` that may concern
    the caller (``sees_change`` decides each), one more than ``REPLAY_DEPTH`` at most; each
    condition has an index that also gives the order."""
    params: tuple[Any, ...]
    if actor.role in (Role.ADMIN, Role.AUDITOR):
        condition, params = SQL("true"), ()
    elif actor.role is Role.HANDLER:
        condition, params = SQL("assignee_id = %s"), (actor.account_id,)
    else:
        condition, params = SQL("workspace_id = ANY(%s) AND NOT staff_only"), (workspaces,)
    statement = SQL(
        "SELECT {columns} FROM ticket_feed WHERE {condition} "
        "AND position > %s AND position <= %s ORDER BY position LIMIT %s"
    ).format(columns=SQL(FEED_COLUMNS), condition=condition)
    return statement, (*params, after, upto, REPLAY_DEPTH + 1)


def _share(
    feed: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    members: set[tuple[str, str]],
    audience: Audience,
) -> dict[Subscriber, list[LiveEvent]]:
    """Each subscriber's events: its own notifications, and the changes of the tickets its
    caller may read (``sees_change``, asked of the streams each change could concern: the
    admins' and auditors', its assignee's, its workspace's members'). Of the changes one read
    finds for a ticket, only the latest goes out: it says all that the earlier ones would."""
    members_of: dict[str, list[str]] = {}
    for account, workspace in members:
        members_of.setdefault(workspace, []).append(account)
    result: dict[Subscriber, list[LiveEvent]] = {}

    def give(subscriber: Subscriber, event: LiveEvent) -> None:
        if (event.position or 0) > subscriber.after:
            result.setdefault(subscriber, []).append(event)

    # a later change tells of the earlier; a user's latest is the latest they may hear of
    latest = {(row["ticket_id"], row["staff_only"]): row for row in feed}
    for row in sorted(latest.values(), key=lambda row: int(row["position"])):
        change = TicketChange.from_row(row)
        # one text for staff, one for users: their versions count differently (no notes)
        versions = {
            seen: LiveEvent(change.position, "ticket", change.as_event(for_users=not seen))
            for seen in (True, False)
        }
        accounts = {change.assignee_id or "", *members_of.get(change.workspace_id, ())}
        concerned = audience.everything.union(
            *(
                audience.by_account[account]
                for account in accounts
                if account in audience.by_account
            )
        )
        for subscriber in concerned:
            actor = subscriber.actor
            if sees_change(actor, change, (actor.account_id, change.workspace_id) in members):
                give(subscriber, versions[sees_notes(actor)])
    for row in notes:
        told = LiveEvent(row["position"], "notification", _notification(row))
        for subscriber in audience.by_account.get(row["account_id"], set()):
            give(subscriber, told)
    for events in result.values():
        events.sort(key=lambda event: event.position or 0)
    return result


def _notification(row: dict[str, Any]) -> dict[str, Any]:
    document = with_url(row)
    return {name: document[name] for name in NOTIFICATION_FIELDS}
