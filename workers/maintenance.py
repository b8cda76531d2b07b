"""``ticketing projections status|rebuild`` and ``ticketing audit verify``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from projections import maintenance
from projections.view import ReadModelView, TicketingEventLog


@contextmanager
def _opened(settings: Settings) -> Iterator[tuple[ReadModelView, TicketingEventLog]]:
    event_log = TicketingEventLog(eventsourcing_env(settings.database_url, 2))
    try:
        view = ReadModelView(
            event_log.datastore, service_level=ServiceLevel.from_settings(settings)
        )
        view.create_table()
        yield view, event_log
    finally:
        event_log.close()


def _progress(done: int, total: int) -> None:
    percent = 100 * done // total if total else 100
    sys.stderr.write(f"\r  {done:,} / {total:,} events ({percent}%)")
    sys.stderr.flush()


def print_status(settings: Settings) -> int:
    """Print each read model's position and lag."""
    with _opened(settings) as (view, event_log):
        print(f"{'read model':<16}{'position':>12}{'head':>12}{'lag':>10}")
        for entry in maintenance.status(view, event_log):
            print(f"{entry.name:<16}{entry.position:>12,}{entry.head:>12,}{entry.lag:>10,}")
        if view.sla_settings_current():
            print("SLA clocks: computed with the current service-hours settings")
        else:
            print(
                "SLA clocks: computed with other service-hours settings (or by an older "
                "version); run `ticketing projections rebuild`"
            )
    return 0


def run_rebuild(settings: Settings) -> int:
    """Rebuild the read models from the event store."""
    with _opened(settings) as (view, event_log):
        print("rebuilding read models from the event store", file=sys.stderr)
        last = maintenance.rebuild(view, event_log, _progress)
        print(f"\nread models rebuilt up to position {last:,}", file=sys.stderr)
    return 0


def run_audit(settings: Settings, shown: int = 20) -> int:
    """Replay into scratch read models and compare; exit 1 on any difference."""
    with _opened(settings) as (view, event_log):
        print("replaying every event into scratch read models", file=sys.stderr)
        position, differences = maintenance.audit(view, event_log, _progress)
    print(file=sys.stderr)
    if not differences:
        print(f"audit passed: live read models equal the replay at position {position:,}")
        return 0
    print(f"audit FAILED at position {position:,}: {len(differences)} differing rows")
    for difference in differences[:shown]:
        print(f"  {difference.table} ({difference.side}): {difference.row}")
    if len(differences) > shown:
        print(f"  ... and {len(differences) - shown} more")
    return 1
