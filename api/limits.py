"""The per-account limits of users (CONTRACT.md §2.0) as the views spend them: a request that
counts spends before its command runs and gets it back if the command is refused; its answer
carries the ``RateLimit-*`` headers; one over a limit is 429 (``application.limits``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask, current_app

from api.auth import current_actor
from api.http import ticketing
from application.config import Settings
from application.limits import Limit, RateLimits
from domain.actors import Role

SUBMISSIONS, MESSAGES, UPLOADS, EXPORTS = "submissions", "messages", "upload_bytes", "exports"


def install(app: Flask, settings: Settings) -> None:
    """The limits of this API, from its settings (0: none)."""
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    app.extensions["limits"] = {
        SUBMISSIONS: Limit(SUBMISSIONS, settings.limit_submissions_per_minute, minute),
        MESSAGES: Limit(MESSAGES, settings.limit_messages_per_minute, minute),
        UPLOADS: Limit(UPLOADS, settings.limit_upload_mib_per_hour * 2**20, hour),
        # the heaviest reads, of every account: a flood of them took the others' CPU
        EXPORTS: Limit(EXPORTS, settings.limit_exports_per_minute, minute, staff_too=True),
    }
    app.extensions["rate_limits"] = RateLimits(app.extensions["ticketing"].store.datastore)


@contextmanager
def spending(name: str, amount: int = 1) -> Iterator[dict[str, str]]:
    """Spend the caller's ``name`` limit (users', or every account's) for the block, which
    gets the headers for the answer; a block that raises (the request was refused, 403, 404,
    409, 422, or failed) gets it back: only what was done counts."""
    actor = current_actor()
    limit: Limit = current_app.extensions["limits"][name]
    if (actor.role is not Role.USER and not limit.staff_too) or limit.allowed <= 0:
        yield {}
        return
    limits: RateLimits = current_app.extensions["rate_limits"]
    spent = limits.spend(actor.account_id, limit, amount, ticketing().store.clock.now())
    try:
        yield spent.headers
    except BaseException:
        limits.refund(actor.account_id, limit, amount)
        raise
