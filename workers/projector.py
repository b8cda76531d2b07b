"""The projection worker: keeps the read models up to date and survives database outages.

Each start first works off any backlog in batches (one transaction per thousand events
rather than one per event), then follows new events live. A runner that fails (database
restarted, connection lost) is rebuilt after a backoff and resumes from the position recorded
in the database, so nothing is lost or applied twice. Meanwhile it reports a heartbeat and its
last error (``projections.health``), so that a stuck projection is seen, not only felt.
"""

from __future__ import annotations

import logging
import threading
import time

from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from projections import maintenance
from projections.health import HEARTBEAT_INTERVAL, record_failure, record_heartbeat
from projections.view import ReadModelView, TicketingEventLog, start_runner
from workers.backoff import Backoff

log = logging.getLogger(__name__)


def run_projections(
    database_url: str,
    stop: threading.Event,
    pool_size: int = 2,
    service_level: ServiceLevel | None = None,
) -> None:
    """Run the read-model projection until ``stop`` is set (SLA clocks in ``service_level``,
    the contract's defaults if None)."""
    env = eventsourcing_env(database_url, pool_size)
    backoff = Backoff()
    while not stop.is_set():
        try:
            work_off_backlog(env, stop, service_level)
            if stop.is_set():
                break
            with start_runner(env, service_level) as runner:
                log.info("read models: projecting from position %d", runner.view.position())
                backoff.reset()
                follow(runner.view, runner.app, runner.is_interrupted, stop)
                runner.run_forever(timeout=0)  # raises what stopped it, if anything did
            reason = "its subscription ended"
        except Exception as error:
            reason = str(error) or type(error).__name__
        if not stop.is_set():
            delay = backoff.next()
            log.warning("read models: projection stopped (%s); retrying in %.1fs", reason, delay)
            _report_failure(env, reason, service_level)
            stop.wait(delay)


def follow(
    view: ReadModelView,
    event_log: TicketingEventLog,
    interrupted: threading.Event,
    stop: threading.Event,
) -> None:
    """Wait while the runner follows the store, reporting a heartbeat now and then."""
    next_beat = 0.0
    while not stop.is_set() and not interrupted.is_set():
        if time.monotonic() >= next_beat:
            record_heartbeat(view, view.position(), maintenance.head(event_log))
            next_beat = time.monotonic() + HEARTBEAT_INTERVAL
        interrupted.wait(0.5)


def work_off_backlog(
    env: dict[str, str], stop: threading.Event, service_level: ServiceLevel | None = None
) -> None:
    """Apply, in batches, whatever was stored while no projection ran."""
    event_log = TicketingEventLog(env)
    try:
        view = ReadModelView(event_log.datastore, service_level=service_level)
        view.create_table()
        start = view.position()
        reached = maintenance.catch_up(view, event_log, stop.is_set)
        record_heartbeat(view, reached, maintenance.head(event_log))
        if reached > start:
            log.info("read models: applied the backlog from %d to %d", start, reached)
    finally:
        event_log.close()


def _report_failure(
    env: dict[str, str], reason: str, service_level: ServiceLevel | None = None
) -> None:
    """Note the failure where status, readiness and metrics see it (if the database lets us)."""
    try:
        event_log = TicketingEventLog(env)
    except Exception as error:
        log.debug("could not record the projection's failure: %s", error)
        return
    try:
        view = ReadModelView(event_log.datastore, service_level=service_level)
        record_failure(view, view.position(), reason)
    except Exception as error:
        log.debug("could not record the projection's failure: %s", error)
    finally:
        event_log.close()
