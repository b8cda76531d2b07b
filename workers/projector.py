"""The projection worker: keeps the read models up to date and survives database outages.

A runner that fails (database restarted, connection lost) is rebuilt after a backoff and
resumes from the position recorded in the database, so nothing is lost or applied twice.
"""

from __future__ import annotations

import logging
import threading

from application.database import eventsourcing_env
from projections.view import start_runner

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


def run_projections(database_url: str, stop: threading.Event, pool_size: int = 2) -> None:
    """Run the read-model projection until ``stop`` is set."""
    env = eventsourcing_env(database_url, pool_size)
    backoff = 0.5
    while not stop.is_set():
        try:
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
