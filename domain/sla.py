"""Service-level clocks of a ticket (CONTRACT.md §2.5), computed from its status timeline.

- First response: from submission until the first handler message that is not automatic.
- Resolution: from submission until the ticket closes.
Both run in service hours only, and pause while the ticket waits on its user
(``feedback_provided``) or is revoked. A clock that is paused or stopped short of its target
shows when it would fall due if it ran again now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.service_hours import ServiceCalendar
from domain.status import Status

PAUSED = frozenset({Status.FEEDBACK_PROVIDED, Status.REVOKED})


@dataclass(frozen=True)
class SlaTargets:
    """How much service time a ticket may take, per clock."""

    first_response: timedelta = timedelta(hours=4)
    resolution: timedelta = timedelta(hours=40)


@dataclass(frozen=True)
class SlaStatus:
    """The ``sla`` document of a ticket."""

    first_response_due_at: datetime
    first_responded_at: datetime | None
    resolution_due_at: datetime
    breached: list[str]


Interval = tuple[datetime, datetime | None]  # None: still running


def running_intervals(timeline: Sequence[dict[str, Any]], stop: datetime | None) -> list[Interval]:
    """When a clock ran: statuses other than paused or closed, up to ``stop`` if it stopped."""
    intervals: list[Interval] = []
    for entry, following in zip(timeline, [*timeline[1:], None], strict=True):
        start: datetime = entry["at"]
        end: datetime | None = None if following is None else following["at"]
        if stop is not None:
            if start >= stop:
                break
            end = stop if end is None or end > stop else end
        if entry["status"] not in PAUSED and entry["status"] != Status.CLOSED:
            intervals.append((start, end))
    return intervals


def due_at(
    calendar: ServiceCalendar, intervals: list[Interval], target: timedelta, now: datetime
) -> datetime:
    """When the clock reaches ``target`` (in the past if it did; projected from now if not)."""
    used = timedelta(0)
    for start, end in intervals:
        spent = calendar.elapsed(start, end or now)
        if used + spent >= target:
            return calendar.add(start, target - used)
        used += spent
    return calendar.add(now, target - used)


def sla_status(
    calendar: ServiceCalendar,
    targets: SlaTargets,
    timeline: Sequence[dict[str, Any]],
    first_responded_at: datetime | None,
    closed_at: datetime | None,
    now: datetime,
) -> SlaStatus:
    """Both clocks of a ticket as of ``now``, and which of them were breached."""
    first_stop = first_responded_at or closed_at
    first_due = due_at(
        calendar, running_intervals(timeline, first_stop), targets.first_response, now
    )
    resolution_due = due_at(
        calendar, running_intervals(timeline, closed_at), targets.resolution, now
    )
    breached = []
    if (first_responded_at or closed_at or now) > first_due:
        breached.append("first_response")
    if (closed_at or now) > resolution_due:
        breached.append("resolution")
    return SlaStatus(first_due, first_responded_at, resolution_due, breached)
