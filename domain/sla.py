"""Service-level clocks of a ticket (CONTRACT.md §2.5).

- First response: from submission until the first handler message that is not automatic.
- Resolution: from submission until the ticket closes.

Both run in service hours only, and pause while the ticket waits on its user
(``feedback_provided``) or is revoked. A clock is folded from the ticket's status changes
(:class:`SlaClocks`), so the ticket details (from the aggregate's timeline) and the read
model (one change per stored event) compute it with the same code.

Due times: a running clock falls due when its remaining service time runs out; a clock that
reached its target fell due then; a stopped clock shows when it was due as it stopped; a
paused clock short of its target shows when it would fall due if it ran again now.
A clock is breached when it is still running, or stopped, later than its due time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from domain.service_hours import ServiceCalendar
from domain.status import Status

PAUSED = frozenset({Status.FEEDBACK_PROVIDED, Status.REVOKED})
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
ZERO = timedelta(0)


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


@dataclass(frozen=True)
class SettledClocks:
    """The times of both clocks that no longer depend on when one asks (see Clock.settled)."""

    first_response_due_at: datetime | None
    first_response_breached_after: datetime | None
    resolution_due_at: datetime | None
    resolution_breached_after: datetime | None
    nearest_running_due_at: datetime | None  # what ``sort=due`` orders by


@dataclass(frozen=True)
class Clock:
    """One SLA clock: service time used, and whether it runs, reached its target, or stopped."""

    target: timedelta
    used: timedelta = ZERO  # service time used before ``running_since`` (all of it if not running)
    running_since: datetime | None = None
    reached_at: datetime | None = None  # when the used time first reached the target
    stopped_at: datetime | None = None

    def run(self, at: datetime) -> Clock:
        """Start or resume counting at ``at`` (no change if running or stopped)."""
        if self.running_since is not None or self.stopped_at is not None:
            return self
        return replace(self, running_since=at)

    def pause(self, calendar: ServiceCalendar, at: datetime) -> Clock:
        """Stop counting for now, adding the service time since it last started."""
        if self.running_since is None:
            return self
        spent = calendar.elapsed(self.running_since, at)
        reached = self.reached_at
        if reached is None and self.used + spent >= self.target:
            reached = calendar.add(self.running_since, self.target - self.used)
        return replace(self, used=self.used + spent, running_since=None, reached_at=reached)

    def stop(self, calendar: ServiceCalendar, at: datetime) -> Clock:
        """Stop for good (the first response came, or the ticket closed)."""
        if self.stopped_at is not None:
            return self
        return replace(self.pause(calendar, at), stopped_at=at)

    def entered(self, calendar: ServiceCalendar, status: str, at: datetime) -> Clock:
        """The clock once the ticket is (or stays) in ``status`` from ``at``."""
        if status == Status.CLOSED:
            return self.stop(calendar, at)
        if status in PAUSED:
            return self.pause(calendar, at)
        return self.run(at)

    def settled(self, calendar: ServiceCalendar) -> tuple[datetime | None, datetime | None]:
        """What no longer depends on when one asks: the due time (None while paused short of
        the target), and the moment after which the clock counts as breached (None: it cannot
        be)."""
        if self.reached_at is not None:
            in_time = self.stopped_at is not None and self.stopped_at <= self.reached_at
            return self.reached_at, None if in_time else self.reached_at
        if self.running_since is not None:
            due = calendar.add(self.running_since, self.target - self.used)
            return due, due
        if self.stopped_at is not None:
            return calendar.add(self.stopped_at, self.target - self.used), None
        return None, None

    def judged(self, calendar: ServiceCalendar, now: datetime) -> tuple[datetime, bool]:
        """The due time as of ``now``, and whether the clock was late by then."""
        due, breached_after = self.settled(calendar)
        if due is None:
            due = calendar.add(now, self.target - self.used)
        return due, breached_after is not None and now > breached_after

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready form (the read model keeps it between events)."""
        return {
            "target_us": _micros(self.target),
            "used_us": _micros(self.used),
            "running_since": _iso(self.running_since),
            "reached_at": _iso(self.reached_at),
            "stopped_at": _iso(self.stopped_at),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Clock:
        """The clock :meth:`to_state` wrote."""
        return cls(
            target=timedelta(microseconds=state["target_us"]),
            used=timedelta(microseconds=state["used_us"]),
            running_since=_time(state["running_since"]),
            reached_at=_time(state["reached_at"]),
            stopped_at=_time(state["stopped_at"]),
        )


@dataclass(frozen=True)
class SlaClocks:
    """Both clocks of a ticket, changed by its status and its first response."""

    first_response: Clock
    resolution: Clock
    first_responded_at: datetime | None = None

    @classmethod
    def started(cls, targets: SlaTargets, at: datetime) -> SlaClocks:
        """Both clocks of a ticket submitted at ``at``."""
        return cls(Clock(targets.first_response).run(at), Clock(targets.resolution).run(at))

    def entered(self, calendar: ServiceCalendar, status: str, at: datetime) -> SlaClocks:
        """The clocks after the ticket is (or stays) in ``status`` from ``at``."""
        return replace(
            self,
            first_response=self.first_response.entered(calendar, status, at),
            resolution=self.resolution.entered(calendar, status, at),
        )

    def responded(self, calendar: ServiceCalendar, at: datetime) -> SlaClocks:
        """A handler's first message that is not automatic: the first-response clock stops."""
        if self.first_responded_at is not None:
            return self
        return replace(
            self, first_response=self.first_response.stop(calendar, at), first_responded_at=at
        )

    def status(self, calendar: ServiceCalendar, now: datetime) -> SlaStatus:
        """The ``sla`` document as of ``now``."""
        first_due, first_late = self.first_response.judged(calendar, now)
        resolution_due, resolution_late = self.resolution.judged(calendar, now)
        late = ((FIRST_RESPONSE, first_late), (RESOLUTION, resolution_late))
        return SlaStatus(
            first_response_due_at=first_due,
            first_responded_at=self.first_responded_at,
            resolution_due_at=resolution_due,
            breached=[name for name, is_late in late if is_late],
        )

    def settled(self, calendar: ServiceCalendar) -> SettledClocks:
        """Both clocks' settled times (what the read model stores)."""
        first_due, first_after = self.first_response.settled(calendar)
        resolution_due, resolution_after = self.resolution.settled(calendar)
        pairs = ((self.first_response, first_due), (self.resolution, resolution_due))
        running = [due for clock, due in pairs if clock.running_since is not None and due]
        return SettledClocks(
            first_due, first_after, resolution_due, resolution_after, min(running, default=None)
        )

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            FIRST_RESPONSE: self.first_response.to_state(),
            RESOLUTION: self.resolution.to_state(),
            "first_responded_at": _iso(self.first_responded_at),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SlaClocks:
        """The clocks :meth:`to_state` wrote."""
        return cls(
            Clock.from_state(state[FIRST_RESPONSE]),
            Clock.from_state(state[RESOLUTION]),
            _time(state["first_responded_at"]),
        )


def clocks_from_timeline(
    calendar: ServiceCalendar,
    targets: SlaTargets,
    timeline: Sequence[dict[str, Any]],
    first_responded_at: datetime | None,
) -> SlaClocks:
    """Fold a ticket's status timeline (and its first response) into its clocks."""
    clocks = SlaClocks.started(targets, timeline[0]["at"])
    for entry in timeline[1:]:
        if first_responded_at is not None and first_responded_at <= entry["at"]:
            clocks = clocks.responded(calendar, first_responded_at)
        clocks = clocks.entered(calendar, entry["status"], entry["at"])
    if first_responded_at is not None:
        clocks = clocks.responded(calendar, first_responded_at)
    return clocks


def sla_status(
    calendar: ServiceCalendar,
    targets: SlaTargets,
    timeline: Sequence[dict[str, Any]],
    first_responded_at: datetime | None,
    now: datetime,
) -> SlaStatus:
    """Both clocks of a ticket as of ``now``, and which of them were breached."""
    clocks = clocks_from_timeline(calendar, targets, timeline, first_responded_at)
    return clocks.status(calendar, now)


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
