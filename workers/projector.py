"""The projection worker: keeps the read models up to date and survives database outages.

Each start first works off any backlog in batches (one transaction per thousand events
rather than one per event), then follows new events live. A runner that fails (database
restarted, connection lost) is rebuilt after a backoff and resumes from the position recorded
in the database, so nothing is lost or applied twice.
"""

from __future__ import annotations

import logging
import threading

from application.database import eventsourcing_env
from projections import maintenance
from projections.view import ReadModelView, TicketingEventLog, start_runner

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


def run_projections(database_url: str, stop: threading.Event, pool_size: int = 2) -> None:
    """Run the read-model projection until ``stop`` is set."""
    env = eventsourcing_env(database_url, pool_size)
    backoff = 0.5
    while not stop.is_set():
        try:
            work_off_backlog(env, stop)
            if stop.is_set():
                break
            with start_runner(env) as runner:
                log.info("read models: projecting from position %d", runner.view.position())
                backoff = 0.5
                while not stop.is_set() and not runner.is_interrupted.is_set():
                    runner.run_forever(timeout=0.5)
            reason = "its subscription ended"
        except Exception as error:
            reason = str(error) or type(error).__name__
        if not stop.is_set():
            log.warning("read models: projection stopped (%s); retrying in %.1fs", reason, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


def work_off_backlog(env: dict[str, str], stop: threading.Event) -> None:
    """Apply, in batches, whatever was stored while no projection ran."""
    event_log = TicketingEventLog(env)
    try:
        view = ReadModelView(event_log.datastore)
        view.create_table()
        start = view.position()
        reached = maintenance.catch_up(view, event_log, stop.is_set)
        if reached > start:
            log.info("read models: applied the backlog from %d to %d", start, reached)
    finally:
        event_log.close()
