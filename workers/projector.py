"""The projection worker: keeps the read models up to date and survives database outages.

Each start first works off any backlog in batches (one transaction per thousand events
rather than one per event), then follows new events live, in batches too
(``projections.live``). A projection that fails (database restarted, connection lost) starts
again after a backoff and resumes from the position recorded in the database, so nothing is
lost or applied twice. Meanwhile it reports a heartbeat and its
last error (``projections.health``), so that a stuck projection is seen, not only felt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from projections import maintenance
from projections.health import HEARTBEAT_INTERVAL, record_failure, record_heartbeat
from projections.live import project_live
from projections.view import ReadModelView, TicketingEventLog
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
            follow(env, stop, service_level, started=backoff.reset)
            reason = "it stopped following the store"
        except Exception as error:
            reason = str(error) or type(error).__name__
        if not stop.is_set():
            delay = backoff.next()
            log.warning("read models: projection stopped (%s); retrying in %.1fs", reason, delay)
            _report_failure(env, reason, service_level)
            stop.wait(delay)


def follow(
    env: dict[str, str],
    stop: threading.Event,
    service_level: ServiceLevel | None,
    started: Callable[[], None],
) -> None:
    """Apply new events as they are stored (``projections.live``), reporting a heartbeat
    now and then."""
    event_log = TicketingEventLog(env)
    try:
        view = ReadModelView(event_log.datastore, service_level=service_level)
        log.info("read models: projecting from position %d", view.position())
        next_beat = 0.0

        def reached(position: int) -> None:
            nonlocal next_beat
            if next_beat == 0.0:
                started()  # following: the next failure backs off from the start
            if time.monotonic() >= next_beat:
                record_heartbeat(view, position, maintenance.head(event_log))
                next_beat = time.monotonic() + HEARTBEAT_INTERVAL

        project_live(view, event_log, stop, reached)
    finally:
        event_log.close()


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
