"""Per-account limits for users (CONTRACT.md §2.0): submissions and messages a minute, bytes
uploaded an hour. Counted in PostgreSQL, so every API process shares them.

Each limit is a token bucket: it holds at most the limit, refills at the limit per window, and
a request spends from it. Fixed windows let twice the limit through at a window's edge (the
end of one and the start of the next); a bucket never lets through more than the limit at once,
nor more than the refill rate after that. One row per account and limit, locked while it is
spent, so two processes can never let through more than it holds between them. A request
refused for another reason gets back what it spent (:meth:`RateLimits.refund`). Staff are not
limited."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.postgres import PostgresDatastore

from application.errors import RateLimited

DDL = (
    "CREATE TABLE IF NOT EXISTS rate_limit_buckets (account_id text NOT NULL, "
    "limit_name text NOT NULL, tokens double precision NOT NULL, "
    "updated_at timestamptz NOT NULL, PRIMARY KEY (account_id, limit_name))",
    "DROP TABLE IF EXISTS rate_limit_windows",  # the fixed windows this replaced
)


@dataclass(frozen=True)
class Limit:
    """How much of something an account may spend in a window."""

    name: str
    allowed: int
    window: timedelta
    staff_too: bool = False  # a limit of every account, not of users only


@dataclass(frozen=True)
class Spent:
    """What a request spent: the ``RateLimit-*`` headers of its answer (``reset_seconds``:
    until the bucket is full again; for a refused request, until it holds enough)."""

    limit: Limit
    remaining: int
    reset_seconds: int

    @property
    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds)."""
        return {
            "RateLimit-Limit": str(self.limit.allowed),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class LimitExceeded(RateLimited):
    """Over a limit: 429 with ``Retry-After`` and the ``RateLimit-*`` headers."""

    def __init__(self, spent: Spent) -> None:
        super().__init__(max(1, spent.reset_seconds))
        self.headers = spent.headers


class RateLimits:
    """The limits' windows in PostgreSQL."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def spend(self, account_id: str, limit: Limit, amount: int, now: datetime) -> Spent:
        """Spend ``amount`` of the account's ``limit``, or raise :class:`LimitExceeded` (and
        spend nothing)."""
        rate = limit.allowed / limit.window.total_seconds()  # per second
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO rate_limit_buckets (account_id, limit_name, tokens, updated_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (account_id, limit.name, limit.allowed, now),
            )
            row = curs.execute(
                "SELECT tokens, updated_at FROM rate_limit_buckets "
                "WHERE account_id = %s AND limit_name = %s FOR UPDATE",
                (account_id, limit.name),
            ).fetchone()
            assert row is not None  # inserted above if it was not there
            elapsed = max((now - row["updated_at"]).total_seconds(), 0.0)
            tokens = min(float(limit.allowed), float(row["tokens"]) + elapsed * rate)
            if tokens < amount:
                wait = min((amount - tokens) / rate, limit.window.total_seconds())
                raise LimitExceeded(Spent(limit, int(tokens), max(1, math.ceil(wait))))
            curs.execute(
                "UPDATE rate_limit_buckets SET tokens = %s, updated_at = %s "
                "WHERE account_id = %s AND limit_name = %s",
                (tokens - amount, max(now, row["updated_at"]), account_id, limit.name),
            )
        left = tokens - amount
        return Spent(limit, int(left), max(1, math.ceil((limit.allowed - left) / rate)))

    def refund(self, account_id: str, limit: Limit, amount: int) -> None:
        """Give back what a request spent that did nothing (refused for another reason)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE rate_limit_buckets SET tokens = least(tokens + %s, %s) "
                "WHERE account_id = %s AND limit_name = %s",
                (amount, limit.allowed, account_id, limit.name),
            )
