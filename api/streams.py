"""``GET /api/v1/me/stream``: Server-Sent Events for the caller (CONTRACT.md §6.3).

One hub per API process LISTENs for the notifications follower's commits (each names the store
position the follower reached) and for presence, reads what is new once for all its streams
(the ticket feed, the notifications and the memberships the new changes concern), and hands
each stream what its caller may see: ``notification`` for the caller's own, ``ticket`` for a
ticket whose details the caller may read (``projections.visibility``), ``presence`` for staff
viewing the same ticket. A stream costs a queue and a task on the event loop, no thread and no
query of its own but the one that catches it up when it (re)connects.

Each event's ``id`` is the store position of its fact; the events of one position go out
together and only the last carries the id, so a reconnect with ``Last-Event-ID`` resumes
exactly after the last whole position it saw. The hub also looks at the follower's position
every second, whatever it was told (a lost NOTIFY costs at most that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from api.asgi import Receive, Scope, Send, send_problem
from api.auth import Unauthenticated, actor_from_token
from domain.actors import Actor, Role
from projections.inbox import COLUMNS as NOTIFICATION_COLUMNS
from projections.inbox import with_url
from projections.notifications import LIVE_CHANNEL, PRESENCE_CHANNEL
from projections.schema import FOLLOWER
from projections.visibility import TicketChange, sees_change

log = logging.getLogger(__name__)

STREAM_PATH = "/api/v1/me/stream"
KEEPALIVE = 15.0  # seconds between comments on a quiet stream (§6.3: at least every 15 s)
LOOK_EVERY = 1.0  # seconds the hub waits for a NOTIFY before it looks anyway
GATHER = 0.05  # seconds a woken hub waits for more commits to read them together
QUEUE_LIMIT = 1_000  # events waiting for a slow reader; beyond, its stream is closed
STATEMENT_TIMEOUT_MS = 5_000
HUB_NAME = "ticketing live hub"
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
                    "SELECT position, ticket_id, version, status, workspace_id, submitter_id, "
                    "assignee_id, staff_only FROM ticket_feed "
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
        event = LiveEvent(change.position, "ticket", change.as_event())
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
                give(subscriber, event)
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


class LiveHub:
    """The process's one listener, fanning what is new out to every open stream."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.audience = Audience()
        self.position = 0
        self.ready = asyncio.Event()
        # catching up and registering take turns: a stream registered while the hub reads
        # would otherwise be moved past what that read delivers to the others only
        self.turn = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._reads: LiveReads | None = None

    def start(self) -> None:
        """Start listening, and the comments that keep quiet streams open (once; on the
        first stream)."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run())
            self._beat = loop.create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE)
            for subscriber in self.audience:
                subscriber.offer(b": keep-alive\n\n")

    async def reads(self) -> LiveReads:
        """The hub's reads, once it listens."""
        self.start()
        await asyncio.wait_for(self.ready.wait(), STATEMENT_TIMEOUT_MS / 1000)
        assert self._reads is not None
        return self._reads

    async def _connect(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        return await psycopg.AsyncConnection.connect(
            self.database_url,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=5,
            application_name=HUB_NAME,  # named, so an operator (or a test) can find it
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.ready.is_set():  # it was connected: back off from the start again
                    delay = 0.5
                self.ready.clear()
                log.warning("live streams: lost the database (%s); again in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _listen(self) -> None:
        async with await self._connect() as listener, await self._connect() as conn:
            await listener.execute(f"LISTEN {LIVE_CHANNEL}")
            await listener.execute(f"LISTEN {PRESENCE_CHANNEL}")
            self._reads = LiveReads(conn)
            if self.position == 0:  # first start: from now on; after a lost connection, from
                self.position = await self._reads.position()  # where it was, missing nothing
            self.ready.set()
            while True:
                told = [n async for n in listener.notifies(timeout=LOOK_EVERY, stop_after=1)]
                if told:  # let the follower's next commits join this read
                    await asyncio.sleep(GATHER)
                    told += [n async for n in listener.notifies(timeout=GATHER / 10)]
                for notify in told:
                    if notify.channel == PRESENCE_CHANNEL:
                        self._presence(json.loads(notify.payload))
                await self._catch_up(self._reads)

    async def register(self, subscriber: Subscriber) -> None:
        """Add a stream; it receives what lies after ``max(its after, the hub's position)``."""
        async with self.turn:
            subscriber.after = max(subscriber.after, self.position)
            self.audience.add(subscriber)

    async def _catch_up(self, reads: LiveReads) -> None:
        async with self.turn:
            reached = await reads.position()
            if reached <= self.position:
                return
            if self.audience:
                events = await reads.events(self.position, reached, self.audience)
                encoded: dict[tuple[int, ...], bytes] = {}  # the same events, the same text
                for subscriber, found in events.items():
                    key = tuple(id(event) for event in found)
                    if key not in encoded:
                        encoded[key] = encode(found)
                    subscriber.offer(encoded[key])
            self.position = reached

    def _presence(self, payload: dict[str, Any]) -> None:
        viewers = set(payload.pop("viewers", []))
        event = encode([LiveEvent(None, "presence", payload)])
        for account in viewers - {payload["account_id"]}:
            for subscriber in self.audience.by_account.get(account, set()):
                if subscriber.actor.role is not Role.USER:
                    subscriber.offer(event)


async def _disconnected(receive: Receive) -> None:
    """Until the client goes away (the request's own empty body is read on the way)."""
    while (await receive())["type"] != "http.disconnect":
        continue


def token_of(scope: Scope) -> str:
    """The bearer token of a stream request: the header, or ``?access_token=`` (this path
    only: a browser's EventSource cannot send headers)."""
    headers = dict(scope.get("headers", []))
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return str(token.strip())
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("access_token", [])
    if len(tokens) == 1 and tokens[0]:
        return str(tokens[0])
    raise Unauthenticated("send Authorization: Bearer <token> (or ?access_token=)")


def last_event_id(scope: Scope) -> int | None:
    """The position a reconnecting EventSource says it saw last: its ``Last-Event-ID``
    header, or ``?last_event_id=`` (a new EventSource cannot send the header)."""
    raw = dict(scope.get("headers", [])).get(b"last-event-id", b"").decode("latin-1").strip()
    if not raw:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = (query.get("last_event_id") or [""])[0].strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


class LiveStreams:
    """The ASGI handler of ``GET /api/v1/me/stream``."""

    def __init__(self, database_url: str, jwt_secret: str) -> None:
        self.hub = LiveHub(database_url)
        self.jwt_secret = jwt_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            actor = actor_from_token(token_of(scope), self.jwt_secret)
        except Unauthenticated as error:
            await send_problem(
                send, 401, str(error), [(b"www-authenticate", b'Bearer realm="ticketing"')]
            )
            return
        try:
            reads = await self.hub.reads()
        except (TimeoutError, AssertionError):
            await send_problem(send, 503, "the database is unreachable", [(b"retry-after", b"5")])
            return
        hub = self.hub
        seen = last_event_id(scope)
        subscriber = Subscriber(actor, after=seen or 0)
        await hub.register(subscriber)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-content-type-options", b"nosniff"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            await self._body(b"retry: 2000\n: connected\n\n", send)
            if seen is not None and seen < subscriber.after:
                since = Subscriber(actor, after=seen)
                missed = await reads.events(seen, subscriber.after, Audience([since]))
                for found in missed.values():
                    await self._body(encode(found), send)
            await self._relay(subscriber, receive, send)
        finally:
            hub.audience.discard(subscriber)

    @staticmethod
    async def _body(chunk: bytes, send: Send) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _relay(self, subscriber: Subscriber, receive: Receive, send: Send) -> None:
        async def until_gone() -> None:
            await _disconnected(receive)
            subscriber.offer(None)

        gone = asyncio.ensure_future(until_gone())
        try:
            # None: the client went away, or fell too far behind (it reconnects and catches up)
            while (chunk := await subscriber.queue.get()) is not None:
                await self._body(chunk, send)
        finally:
            gone.cancel()
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
