"""``ticketing projections status|rebuild`` and ``ticketing audit verify`` (the event store's
hash chain and its checkpoints, then the read models against a replay)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from application.bootstrap import build_app
from application.chain import Checkpoint
from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from projections import maintenance
from projections.view import ReadModelView, TicketingEventLog
from workers.chain_audit import CheckpointsUnreadable, read_checkpoints, verify_chain
from workers.stored_audit import audit_attachments, audit_signatures, audit_snapshots

CATCH_UP = 10.0  # seconds the audit gives a running projection to reach the last event


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
    """Print each read model's position, lag, state and last error; 1 if one is stalled."""
    with _opened(settings) as (view, event_log):
        entries = maintenance.status(view, event_log)
        print(f"{'read model':<16}{'position':>12}{'head':>12}{'lag':>10}  state")
        for entry in entries:
            print(
                f"{entry.name:<16}{entry.position:>12,}{entry.head:>12,}{entry.lag:>10,}  "
                f"{entry.state}"
            )
            idle = entry.seconds_since_progress
            print(
                "  last progress: "
                + ("never reported by a worker" if idle is None else f"{idle:,.0f}s ago")
            )
            if entry.error is not None:
                print(f"  last error ({entry.error_at:%Y-%m-%d %H:%M:%S %Z}, {entry.failures} "
                      f"failures so far): {entry.error}")  # fmt: skip
        if view.sla_settings_current():
            print("SLA clocks: computed with the current service-hours settings")
        else:
            print(
                "SLA clocks: computed with other service-hours settings (or by an older "
                "version); run `ticketing projections rebuild`"
            )
    stalled = [entry.name for entry in entries if entry.stalled]
    if stalled:
        print(f"STALLED: {', '.join(stalled)} (events wait and the projection does not progress)")
        return 1
    return 0


def run_rebuild(settings: Settings) -> int:
    """Rebuild the read models from the event store."""
    with _opened(settings) as (view, event_log):
        print("rebuilding read models from the event store", file=sys.stderr)
        last = maintenance.rebuild(view, event_log, _progress)
        print(f"\nread models rebuilt up to position {last:,}", file=sys.stderr)
    return 0


def audit_chain(
    settings: Settings,
    event_log: TicketingEventLog,
    from_position: int | None = None,
    with_checkpoints: bool = True,
) -> bool:
    """Walk the event store's hash chain and hold it to the broker's checkpoints; print what
    was proven, or the first bad position."""
    checkpoints: list[Checkpoint] = []
    if with_checkpoints:
        try:
            checkpoints = read_checkpoints(settings)
        except CheckpointsUnreadable as error:
            print(
                f"chain FAILED: the checkpoints could not be read ({error}); "
                "`audit verify --without-checkpoints` checks the chain alone"
            )
            return False
    report = verify_chain(event_log, checkpoints, from_position)
    if report.checked >= 100_000:
        print(file=sys.stderr)
    if report.breaks:
        first = report.breaks[0]
        print(f"chain FAILED at position {first.position:,}: {first.reason}")
        return False
    print(f"chain passed: {report.checked:,} events recomputed up to position {report.head:,}")
    if not with_checkpoints:
        print("  checkpoints not checked: a chain recomputed after an edit would pass")
    elif checkpoints:
        newest = checkpoints[-1]
        print(
            f"  {len(checkpoints):,} checkpoints from the broker held; the newest at position "
            f"{newest.position:,} ({newest.at:%Y-%m-%d %H:%M:%S %Z})"
        )
    else:
        print("  no checkpoints published yet (the worker publishes one a minute)")
    if report.migrated_up_to is not None:
        print(
            f"  events up to position {report.migrated_up_to:,} were stored before the chain "
            "and chained by its migration: proven unchanged since then, not before"
        )
    return True


def run_audit(
    settings: Settings,
    shown: int = 20,
    catch_up: float = CATCH_UP,
    *,
    from_position: int | None = None,
    with_checkpoints: bool = True,
) -> int:
    """Walk the hash chain (``audit_chain``), check the snapshots and the attachments' bytes
    (``workers.stored_audit``), then replay into scratch read models and compare; exit 1 on a
    break in the chain, a snapshot or file that does not hold, any difference, and if the live
    read models do not reach the store's last event (a stalled projection)."""
    with _opened(settings) as (view, event_log):
        chained = audit_chain(settings, event_log, from_position, with_checkpoints)
        app = build_app(settings)
        try:
            key = settings.signing_key.encode()
            stored = all(  # each prints
                [audit_snapshots(app), audit_attachments(app), audit_signatures(app, key)]
            )
        finally:
            app.store.close()
        last_event = maintenance.head(event_log)
        view.wait_for(last_event, catch_up)  # a running worker may be a moment behind
        print("replaying every event into scratch read models", file=sys.stderr)
        position, differences = maintenance.audit(view, event_log, _progress)
    print(file=sys.stderr)
    behind = position < last_event
    if not differences and not behind:
        print(f"audit passed: live read models equal the replay at position {position:,}")
        return 0 if chained and stored else 1
    if behind:
        print(
            f"audit FAILED: the live read models reach position {position:,}, the store's last "
            f"event is at {last_event:,} ({last_event - position:,} events not projected; "
            "see `ticketing projections status`)"
        )
    if differences:
        print(f"audit FAILED at position {position:,}: {len(differences)} differing rows")
    for difference in differences[:shown]:
        print(f"  {difference.table} ({difference.side}): {difference.row}")
    if len(differences) > shown:
        print(f"  ... and {len(differences) - shown} more")
    return 1
