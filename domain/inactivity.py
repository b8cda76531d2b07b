"""The 168-hour rule: a ticket waiting on its user closes after 168 hours without an answer.

The clock runs while the ticket is in ``WAITING_ON_USER`` (feedback_provided): it starts when
the ticket enters that status (a handler's reply) and stops when it leaves it (the user's
reply, a close); further handler replies meanwhile do not restart it. The aggregate keeps the
clock with :func:`clock_after`; the read model's ``feedback_provided_since`` column, which the
sweep reads, is written by SQL generated from the same definitions (``projections.summaries``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.status import Status

INACTIVITY_LIMIT = timedelta(hours=168)
WAITING_ON_USER = Status.FEEDBACK_PROVIDED


def clock_after(status: str, since: datetime | None, at: datetime) -> datetime | None:
    """When the inactivity clock started, once the ticket is in ``status`` from ``at`` on."""
    if status != WAITING_ON_USER:
        return None
    return since or at


def clock_after_sql(status_sql: str) -> str:
    """:func:`clock_after` as an SQL expression on a ``ticket_summaries`` row: the new status
    is ``status_sql`` (an expression of the old row), the event's time ``%(at)s``."""
    return (
        f"CASE WHEN {status_sql} = '{WAITING_ON_USER.value}' "
        "THEN COALESCE(feedback_provided_since, %(at)s) END"
    )


def overdue(since: datetime, now: datetime) -> bool:
    """Whether a ticket waiting on its user since ``since`` is past the limit at ``now``."""
    return now - since > INACTIVITY_LIMIT


def reminder_due(
    since: datetime, reminded_at: datetime | None, now: datetime, lead: timedelta
) -> bool:
    """Whether to remind the user ``lead`` before the close (once per wait)."""
    if now < since + INACTIVITY_LIMIT - lead:
        return False
    return reminded_at is None or reminded_at < since
