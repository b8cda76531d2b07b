"""The service calendar and SLA targets, built from configuration (CONTRACT.md §2.5)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from application.config import ConfigError, Settings
from domain.service_hours import (
    ServiceCalendar,
    parse_days,
    parse_holidays,
    parse_hours,
    parse_icalendar_holidays,
)
from domain.sla import SlaStatus, SlaTargets, sla_status
from domain.ticket import Ticket
from domain.ticket_types import TYPE_INFO


@dataclass(frozen=True)
class ServiceLevel:
    """The calendar, the default targets, and per-type targets."""

    calendar: ServiceCalendar = field(default_factory=ServiceCalendar)
    default: SlaTargets = field(default_factory=SlaTargets)
    by_type: dict[str, SlaTargets] = field(default_factory=dict)

    def targets_for(self, ticket_type: str) -> SlaTargets:
        """The targets of one ticket type."""
        return self.by_type.get(ticket_type, self.default)

    def of(self, ticket: Ticket, now: datetime) -> SlaStatus:
        """A ticket's clocks as of ``now``."""
        return sla_status(
            self.calendar,
            self.targets_for(ticket.ticket_type),
            ticket.timeline,
            ticket.first_responded_at,
            now,
        )

    @property
    def fingerprint(self) -> str:
        """Changes whenever the calendar or a target does (read models keep computed clocks)."""
        calendar = self.calendar
        parts = [
            calendar.zone.key,
            sorted(calendar.working_days),
            calendar.opens.isoformat(),
            calendar.closes.isoformat(),
            sorted(day.isoformat() for day in calendar.holidays),
            repr(self.default),
            sorted((code, repr(targets)) for code, targets in self.by_type.items()),
        ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceLevel:
        """Parse the TICKETING_SERVICE_* and TICKETING_SLA_* settings (ConfigError if bad)."""
        try:
            zone = ZoneInfo(settings.service_timezone)
            opens, closes = parse_hours(settings.service_hours)
            holidays = parse_holidays(settings.service_holidays)
            if settings.service_holidays_file:
                text = Path(settings.service_holidays_file).read_text(encoding="utf-8")
                holidays |= parse_icalendar_holidays(text)
            calendar = ServiceCalendar(
                zone, parse_days(settings.service_days), opens, closes, holidays
            )
        except (ValueError, OSError, ZoneInfoNotFoundError) as error:
            raise ConfigError(f"service calendar: {error}") from None
        default = SlaTargets(
            timedelta(hours=settings.sla_first_response_hours),
            timedelta(hours=settings.sla_resolution_hours),
        )
        return cls(calendar, default, _targets_by_type(settings.sla_targets_by_type))


def _targets_by_type(text: str) -> dict[str, SlaTargets]:
    """``bug=2/24,usage=8/40``: first response / resolution hours per ticket type."""
    targets = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, hours = part.partition("=")
        first, _, resolution = hours.partition("/")
        if code not in TYPE_INFO or not first.isdigit() or not resolution.isdigit():
            raise ConfigError(f"TICKETING_SLA_TARGETS: expected type=hours/hours, got {part!r}")
        targets[code] = SlaTargets(timedelta(hours=int(first)), timedelta(hours=int(resolution)))
    return targets
