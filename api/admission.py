"""Admission on the event loop, before a request gets a thread: one account cannot take the
threads everybody shares.

- **Requests per account take turns.** Each account may have ``running`` requests of this
  process on threads at once (``exports`` of them exports, the heaviest reads); the next ones
  wait on the loop, costing no thread, until one of the account's own finishes, and past
  ``waiting`` of them one more is answered 429 at once with ``Retry-After``. A flood from one
  account queues behind its own few, not in front of everybody's.
- **Read-your-writes waits on the loop.** A request that sends ``X-Ticketing-Position``
  waits, in its turn, for the read models here, as a callback of the process's one watcher
  (``projections.positions``), and only then takes a thread; the outcome travels in the
  WSGI environ, so the view does not wait again. A position beyond the store's last event is
  known within one look of the watcher, and the view refuses it (400).

The account is read from the bearer token (the same check the views make); a request without
a valid one passes through untouched, and the views answer it 401.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from api.asgi import (
    ARRIVED,
    QUERY_TIME,
    REQUEST_DEADLINE,
    AsgiHandler,
    Receive,
    Scope,
    Send,
    send_problem,
)
from api.auth import Unauthenticated, actor_from_token
from projections.positions import LATE, POSITION_OUTCOME, Outcome, PositionWatch, request_position

API_PREFIX = "/api/v1/"
RETRY_AFTER = b"1"


@dataclass(frozen=True)
class AdmissionLimits:
    """How much of a process one account may hold at once."""

    running: int = 2
    exports: int = 1
    waiting: int = 64


@dataclass
class _Turns:
    """One account's requests on threads, and those waiting for a turn."""

    running: int = 0
    exports: int = 0
    queued: deque[asyncio.Future[None]] = field(default_factory=deque)
    waiting: int = 0  # requests waiting for a turn


class Admission:
    """An ASGI middleware in front of the threads (``api.asgi.WsgiOnThreads``)."""

    def __init__(
        self,
        inner: AsgiHandler,
        jwt_secret: str,
        positions: PositionWatch,
        wait_timeout: float,
        limits: AdmissionLimits = AdmissionLimits(),
    ) -> None:
        self.inner = inner
        self.jwt_secret = jwt_secret
        self.positions = positions
        self.wait_timeout = wait_timeout
        self.limits = limits
        self.accounts: dict[str, _Turns] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.monotonic()
        scope = {**scope, "environ": {**scope.get("environ", {}), ARRIVED: arrived}}
        # what is left of the request's database deadline (it runs from its arrival) must
        # still hold its query: a turn and a wait for a position end by then
        until = arrived + REQUEST_DEADLINE - QUERY_TIME
        path = str(scope.get("path", ""))
        account = self._account(scope) if path.startswith(API_PREFIX) else None
        if account is None:  # no valid token: the views answer 401 (or serve a public path)
            await self.inner(scope, receive, send)
            return
        turns = self.accounts.setdefault(account, _Turns())
        if turns.waiting >= self.limits.waiting:
            await send_problem(
                send,
                429,
                "this account has as many requests waiting as it may; send the next when "
                "one has been answered",
                [(b"retry-after", RETRY_AFTER)],
            )
            self._forget(account, turns)
            return
        export = path.endswith("/export")
        turns.waiting += 1
        try:
            await asyncio.wait_for(self._turn(turns, export), until - time.monotonic())
        except TimeoutError:
            await send_problem(
                send,
                503,
                "this account's earlier requests are still running; try again",
                [(b"retry-after", RETRY_AFTER)],
            )
            return
        finally:
            turns.waiting -= 1
            self._forget(account, turns)
        try:  # the turn is held through the wait: a flood of waits goes no faster than two
            outcome = await self._position(scope, until)
            await self.inner(_with(scope, outcome), receive, send)
        finally:
            self._done(account, turns, export)

    async def _turn(self, turns: _Turns, export: bool) -> None:
        """Until the account may run one more request (and, for an export, one more export)."""
        while turns.running >= self.limits.running or (
            export and turns.exports >= self.limits.exports
        ):
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            turns.queued.append(turn)
            await turn
        turns.running += 1
        turns.exports += export

    def _done(self, account: str, turns: _Turns, export: bool) -> None:
        turns.running -= 1
        turns.exports -= export
        while turns.queued:  # wake every waiter: each checks its own condition again
            waiter = turns.queued.popleft()
            if not waiter.done():
                waiter.set_result(None)
        self._forget(account, turns)

    def _forget(self, account: str, turns: _Turns) -> None:
        if not turns.running and not turns.waiting and not turns.queued:
            self.accounts.pop(account, None)

    def _account(self, scope: Scope) -> str | None:
        headers = dict(scope.get("headers", []))
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            return actor_from_token(token.strip(), self.jwt_secret).account_id
        except Unauthenticated:
            return None

    async def _position(self, scope: Scope, until: float) -> Outcome | None:
        """The outcome of waiting for the request's position; None without a valid one
        (the view refuses a malformed one)."""
        raw = dict(scope.get("headers", [])).get(b"x-ticketing-position")
        if raw is None:
            return None
        try:
            position = request_position(raw.decode("latin-1"))
        except ValueError:
            return None
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Outcome] = loop.create_future()

        def done(outcome: Outcome) -> None:
            loop.call_soon_threadsafe(_answer, answered, outcome)

        # ends on time even when the watcher's look hangs on a stalled database
        wait = max(min(self.wait_timeout, until - time.monotonic()), 0)
        self.positions.notify(position, wait, done)
        try:
            return await asyncio.wait_for(answered, wait + LATE)
        except TimeoutError:
            return Outcome.STALE


def _with(scope: Scope, outcome: Outcome | None) -> Scope:
    if outcome is None:
        return scope
    return {**scope, "environ": {**scope.get("environ", {}), POSITION_OUTCOME: outcome}}


def _answer(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)
