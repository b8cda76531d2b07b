"""What the support report counts (CONTRACT.md §8), defined once.

Every figure is attributed to the moment it became final, in the service calendar's time zone:

- ``submitted``: tickets submitted in the period.
- ``closed``: tickets closed in the period, in total and by ``close_reason``.
- ``first_response_business_minutes``: tickets whose first response (a handler's message that is
  not automatic) came in the period: the service minutes their first-response clock ran (the
  SLA clock of §2.5, paused while revoked), whole minutes.
- ``resolution_business_minutes``: tickets *resolved* in the period (closed by the submitter,
  completed, or closed for inactivity; a close because the account or workspace went away is no
  resolution): the service minutes their resolution clock ran (paused while waiting on the user).
- ``sla_first_response_met_pct`` / ``sla_resolution_met_pct``: of those same tickets, the share
  whose clock stopped within its target (None when there are none).
- ``csat``: the ratings of the tickets closed in the period (given then or later): average,
  count per score, and ``rated_pct`` of those tickets.
- ``backlog``: tickets not closed at the period's end, by ``queue_state``.
- ``by_assignee``: each figure goes to the ticket's assignee at the moment it became final.

Percentiles are nearest-rank (the smallest value with at least p% of the values at or below it).
Reports over a million tickets are answered from pre-aggregated counts, so minutes are counted
in buckets: exact below ``EXACT_BELOW`` minutes, above that in steps of at most 2%
(``bucket``). A reported percentile is the bucket of the exact percentile (bucketing keeps the
order), so it is at most 2% below it, never above.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.status import CloseReason, QueueState

EXACT_BELOW = 50
GROWTH = 1.02
MAX_MINUTES = 10 * 366 * 24 * 60  # ten years of minutes: no clock runs longer
RESOLVED = frozenset({CloseReason.SUBMITTER, CloseReason.COMPLETED, CloseReason.INACTIVITY})
OPEN_QUEUE_STATES = (QueueState.PENDING, QueueState.PROCESSING, QueueState.CANCELLED)
PERCENTILES = (("p50", 50), ("p90", 90))
MAX_PERIODS = 1_000  # a report answers in one go: at most this many series points


class Interval(StrEnum):
    """How a report's series is cut."""

    DAY = "day"
    WEEK = "week"  # ISO weeks, from Monday
    MONTH = "month"


class Metric(StrEnum):
    """What is counted per ticket, and the two measured durations."""

    SUBMITTED = "submitted"
    FIRST_RESPONSES = "first_responses"
    FIRST_RESPONSES_MET = "first_responses_met"
    RESOLVED = "resolved"
    RESOLVED_MET = "resolved_met"
    FIRST_RESPONSE_MINUTES = "first_response_minutes"  # a histogram
    RESOLUTION_MINUTES = "resolution_minutes"  # a histogram

    @staticmethod
    def closed(reason: str) -> str:
        """Tickets closed for this reason."""
        return f"closed:{reason}"

    @staticmethod
    def rated(score: int) -> str:
        """Tickets closed in the period that were rated ``score``."""
        return f"rated:{score}"


HISTOGRAMS = (Metric.FIRST_RESPONSE_MINUTES, Metric.RESOLUTION_MINUTES)


def _bounds() -> list[int]:
    bounds = list(range(EXACT_BELOW))
    value = float(EXACT_BELOW)
    while value <= MAX_MINUTES:
        if int(value) > bounds[-1]:
            bounds.append(int(value))
        value *= GROWTH
    return bounds


BOUNDS = _bounds()


def bucket(minutes: int) -> int:
    """The lower bound of the bucket ``minutes`` falls in (exact below ``EXACT_BELOW``)."""
    if minutes < EXACT_BELOW:
        return max(minutes, 0)
    return BOUNDS[bisect.bisect_right(BOUNDS, minutes) - 1]


def whole_minutes(service: timedelta) -> int:
    """Service time in whole minutes (rounded down)."""
    return int(service.total_seconds() // 60)


def nearest_rank(counts: Mapping[int, int], percent: int) -> int | None:
    """The nearest-rank percentile of values given as ``{value: count}`` (None if empty)."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(percent * total / 100))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


# ------------------------------------------------------------------ periods


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day of a moment in the service's time zone."""
    return moment.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """When a day begins in the service's time zone, in UTC."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def period_start(day: date, interval: Interval) -> date:
    """The first day of the period ``day`` falls in."""
    if interval is Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is Interval.MONTH:
        return day.replace(day=1)
    return day


def next_period(start: date, interval: Interval) -> date:
    """The first day of the period after the one starting ``start``."""
    if interval is Interval.DAY:
        return start + timedelta(days=1)
    if interval is Interval.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(first: date, last: date, interval: Interval) -> list[tuple[date, date, date]]:
    """``(period_start, from, to)`` of each period of ``[first, last]``: a period's start is
    its natural one (a Monday, the 1st), and ``from``/``to`` the days of it inside the range."""
    result = []
    start = period_start(first, interval)
    while start <= last:
        following = next_period(start, interval)
        result.append((start, max(start, first), min(following - timedelta(days=1), last)))
        start = following
    return result


def month_spans(first: date, last: date) -> tuple[list[date], list[tuple[date, date]]]:
    """The whole months inside ``[first, last]`` (their first days), and the day ranges around
    them: what is read from monthly and from daily aggregates."""
    months: list[date] = []
    edges: list[tuple[date, date]] = []
    start = first
    while start <= last:
        month = start.replace(day=1)
        following = next_period(month, Interval.MONTH)
        end = min(following - timedelta(days=1), last)
        if start == month and end == following - timedelta(days=1):
            months.append(month)
        elif edges and edges[-1][1] == start - timedelta(days=1):
            edges[-1] = (edges[-1][0], end)
        else:
            edges.append((start, end))
        start = following
    return months, edges


# ------------------------------------------------------------------ figures


def figures(
    counts: Mapping[str, int], histograms: Mapping[str, Mapping[int, int]]
) -> dict[str, object]:
    """One row of the report (totals, a period, an assignee) from its counts and histograms
    (without ``backlog``, which is a state, not a sum)."""
    closed = {str(reason): counts.get(Metric.closed(reason), 0) for reason in CloseReason}
    closed_total = sum(closed.values())
    ratings = {str(score): counts.get(Metric.rated(score), 0) for score in range(1, 6)}
    rated = sum(ratings.values())
    return {
        "submitted": counts.get(Metric.SUBMITTED, 0),
        "closed": {"total": closed_total, **closed},
        "first_response_business_minutes": _spread(
            histograms.get(Metric.FIRST_RESPONSE_MINUTES, {})
        ),
        "resolution_business_minutes": _spread(histograms.get(Metric.RESOLUTION_MINUTES, {})),
        "sla_first_response_met_pct": _pct(
            counts.get(Metric.FIRST_RESPONSES_MET, 0), counts.get(Metric.FIRST_RESPONSES, 0)
        ),
        "sla_resolution_met_pct": _pct(
            counts.get(Metric.RESOLVED_MET, 0), counts.get(Metric.RESOLVED, 0)
        ),
        "csat": {
            "average": None
            if rated == 0
            else round(sum(int(s) * n for s, n in ratings.items()) / rated, 2),
            "counts": ratings,
            "rated_pct": _pct(rated, closed_total),
        },
    }


def backlog(states: Mapping[str, int]) -> dict[str, int]:
    """Open tickets by queue state."""
    return {str(state): states.get(str(state), 0) for state in OPEN_QUEUE_STATES}


def _spread(histogram: Mapping[int, int]) -> dict[str, int | None]:
    spread: dict[str, int | None] = {
        name: nearest_rank(histogram, percent) for name, percent in PERCENTILES
    }
    spread["count"] = sum(histogram.values())
    return spread


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def add_up(
    rows: Iterable[tuple[str, int, int]],
) -> tuple[dict[str, int], dict[str, dict[int, int]]]:
    """Counts and histograms from ``(metric, bucket, n)`` rows (a count's bucket is -1)."""
    counts: dict[str, int] = {}
    histograms: dict[str, dict[int, int]] = {}
    for metric, at, n in rows:
        if at < 0:
            counts[metric] = counts.get(metric, 0) + n
        else:
            histogram = histograms.setdefault(metric, {})
            histogram[at] = histogram.get(at, 0) + n
    return counts, histograms


def check_range(first: date, last: date, interval: Interval) -> Sequence[str]:
    """What is wrong with a requested range (empty: nothing)."""
    problems = []
    if last < first:
        problems.append("`to` must not be before `from`")
    elif len(periods(first, last, interval)) > MAX_PERIODS:
        problems.append(f"at most {MAX_PERIODS} periods: choose a longer interval")
    return problems
