"""Per-account limits for users (CONTRACT.md §2.0): submissions and messages a minute, bytes
uploaded an hour. Counted in PostgreSQL, so every API process shares them: one row per
account, limit and window, spent with a single conditional UPDATE, so two processes can never
let through more than the limit between them. Staff are not limited."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.postgres import PostgresDatastore

from application.errors import RateLimited

DDL = (
    "CREATE TABLE IF NOT EXISTS rate_limit_windows (account_id text NOT NULL, "
    "limit_name text NOT NULL, window_start timestamptz NOT NULL, used bigint NOT NULL, "
    "PRIMARY KEY (account_id, limit_name, window_start))",
)


@dataclass(frozen=True)
class Limit:
    """How much of something an account may spend in a window."""

    name: str
    allowed: int
    window: timedelta


@dataclass(frozen=True)
class Spent:
    """What a request spent: the ``RateLimit-*`` headers of its answer."""

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
        """Spend ``amount`` of the account's ``limit`` in the current window, or raise
        :class:`LimitExceeded` (and spend nothing)."""
        seconds = limit.window.total_seconds()
        start = datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, now.tzinfo)
        reset = max(1, math.ceil((start + limit.window - now).total_seconds()))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO rate_limit_windows (account_id, limit_name, window_start, used) "
                "VALUES (%s, %s, %s, 0) ON CONFLICT DO NOTHING",
                (account_id, limit.name, start),
            )
            row = curs.execute(
                "UPDATE rate_limit_windows SET used = used + %s WHERE account_id = %s "
                "AND limit_name = %s AND window_start = %s AND used + %s <= %s RETURNING used",
                (amount, account_id, limit.name, start, amount, limit.allowed),
            ).fetchone()
            if row is None:
                raise LimitExceeded(Spent(limit, 0, reset))
            return Spent(limit, limit.allowed - int(row["used"]), reset)

    def forget_before(self, moment: datetime) -> None:
        """Drop windows that ended before ``moment``."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM rate_limit_windows WHERE window_start < %s", (moment,))
