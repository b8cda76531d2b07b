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
import socket
import time
from typing import Any
from urllib.parse import parse_qs

import psycopg
from psycopg.rows import dict_row

from api.asgi import SOCKET_EXTENSION, Receive, Scope, Send, send_problem
from api.auth import Unauthenticated, actor_from_token, token_expires
from api.stream_events import Audience, LiveEvent, LiveReads, Replay, Subscriber, encode
from domain.actors import Role
from projections.notifications import LIVE_CHANNEL, PRESENCE_CHANNEL

log = logging.getLogger(__name__)

STREAM_PATH = "/api/v1/me/stream"
KEEPALIVE = 15.0  # seconds between comments on a quiet stream (§6.3: at least every 15 s)
LOOK_EVERY = 1.0  # seconds the hub waits for a NOTIFY before it looks anyway
GATHER = 0.05  # seconds a woken hub waits for more commits to read them together
MAX_AGE = 3600.0  # seconds a stream stays open, whatever its token says
SEND_BUFFER = 64 * 1024  # bytes of a stream's socket send buffer (the kernel doubles it)
STREAMS_PER_ACCOUNT = 16  # open streams one account may hold in one process (tabs, devices)
STATEMENT_TIMEOUT_MS = 5_000
HUB_NAME = "ticketing live hub"


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


def _bound_send_buffer(scope: Scope) -> None:
    """A stream whose reader stops reading parks at most ``SEND_BUFFER`` in the kernel (its
    queue bounds what waits in the process): the kernel would grow a busy socket's buffer to
    4 MiB, for each of thousands of streams."""
    sock = scope.get("extensions", {}).get(SOCKET_EXTENSION)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)


class LiveStreams:
    """The ASGI handler of ``GET /api/v1/me/stream``."""

    def __init__(
        self, database_url: str, jwt_secret: str, per_account: int = STREAMS_PER_ACCOUNT
    ) -> None:
        self.hub = LiveHub(database_url)
        self.jwt_secret = jwt_secret
        self.per_account = per_account

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            token = token_of(scope)
            actor = actor_from_token(token, self.jwt_secret)
            expires = token_expires(token, self.jwt_secret)
        except Unauthenticated as error:
            await send_problem(
                send, 401, str(error), [(b"www-authenticate", b'Bearer realm="ticketing"')]
            )
            return
        if len(self.hub.audience.by_account.get(actor.account_id, ())) >= self.per_account:
            await send_problem(
                send,
                429,
                f"this account has {self.per_account} streams open here; close one first",
                [(b"retry-after", b"30")],
            )
            return
        try:
            reads = await self.hub.reads()
        except (TimeoutError, AssertionError):
            await send_problem(send, 503, "the database is unreachable", [(b"retry-after", b"5")])
            return
        _bound_send_buffer(scope)
        hub = self.hub
        seen = last_event_id(scope)
        subscriber = Subscriber(actor, after=seen or 0)
        await hub.register(subscriber)
        # a stream ends when its token does, and after MAX_AGE whatever the token says: it
        # tells the console why, which opens a new one with the token it has then
        ends = min(expires - time.time(), MAX_AGE)
        why = "token expired" if expires - time.time() <= MAX_AGE else "stream too old"
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
                missed = await Replay(reads).missed(actor, seen, subscriber.after)
                if missed:
                    await self._body(missed, send)
            if not await self._relay(subscriber, receive, send, ends):
                expired = LiveEvent(None, "expired", {"reason": why})
                await self._body(encode([expired]), send)
        finally:
            hub.audience.discard(subscriber)
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _body(chunk: bytes, send: Send) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _relay(
        self, subscriber: Subscriber, receive: Receive, send: Send, seconds: float
    ) -> bool:
        """Send what the hub queues for ``seconds``; False if the time ran out, True if the
        client went away or fell too far behind (it reconnects and catches up)."""

        async def until_gone() -> None:
            await _disconnected(receive)
            subscriber.offer(None)

        gone = asyncio.ensure_future(until_gone())
        ends = time.monotonic() + seconds
        try:
            while True:
                left = ends - time.monotonic()
                if left <= 0:
                    return False
                try:
                    chunk = await asyncio.wait_for(subscriber.queue.get(), left)
                except TimeoutError:
                    return False
                if chunk is None:
                    return True
                await self._body(chunk, send)
        finally:
            gone.cancel()
