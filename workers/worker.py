"""``ticketing worker``: read-model projection, platform consumer, publishers.

Each runs in its own thread under a supervisor that restarts it with backoff if it fails
(broker or database unreachable, say), until the worker is asked to stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from application.bootstrap import build_app
from application.config import Settings
from application.database import deadline
from application.tickets import TicketingApp
from workers.backoff import Backoff
from workers.checkpoints import CheckpointPublisher
from workers.health import keep_beating
from workers.notifier import run_notifications
from workers.platform_consumer import PlatformConsumer
from workers.projector import run_projections
from workers.publisher import NotificationPublisher, OutboxPublisher, TicketEventPublisher
from workers.sweeps import sweep_periodically

log = logging.getLogger(__name__)
JOIN_TIMEOUT = 30.0
HEALTH_DEADLINE = 3.0  # seconds the database has to answer the heartbeat's ping


def supervise(name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
    """Run ``target`` until ``stop``; restart it with backoff whenever it fails."""
    backoff = Backoff()
    while not stop.is_set():
        try:
            target(stop)
            backoff.reset()
        except Exception as error:
            delay = backoff.next()
            log.warning("%s stopped (%s); restarting in %.1fs", name, error, delay)
            stop.wait(delay)


def sweep_unattached(app: TicketingApp, settings: Settings, stop: threading.Event) -> None:
    """Delete uploads never attached to anything, every ``janitor_interval_seconds``."""
    while not stop.is_set():
        app.attachments.delete_unattached(timedelta(hours=settings.unattached_ttl_hours))
        stop.wait(settings.janitor_interval_seconds)


def _problem(app: TicketingApp, threads: list[threading.Thread]) -> str | None:
    """What keeps this worker from being healthy: a part's thread gone, the database silent."""
    stopped = [thread.name for thread in threads if not thread.is_alive()]
    if stopped:
        return f"not running: {', '.join(stopped)}"
    with deadline(HEALTH_DEADLINE):
        app.store.infrastructure.ping()
    return None


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Run every background part until ``stop`` is set, then wait for them to finish."""
    app = build_app(settings)
    parts: dict[str, Callable[[threading.Event], None]] = {
        "read-model projection": lambda s: run_projections(
            settings.database_url, s, service_level=app.store.service_level
        ),
        "notifications": lambda s: run_notifications(settings, s, app.store.service_level),
        "platform consumer": PlatformConsumer(app, settings).run,
        "ticket event publisher": TicketEventPublisher(app, settings).run,
        "notification publisher": NotificationPublisher(app, settings).run,
        "outbox publisher": OutboxPublisher(app, settings).run,
        "audit checkpoints": CheckpointPublisher(app, settings).run,
        "attachment janitor": lambda s: sweep_unattached(app, settings, s),
        "service-hours sweep": lambda s: sweep_periodically(app, settings, s),
    }
    threads = [
        threading.Thread(target=supervise, args=(name, part, stop), name=name, daemon=True)
        for name, part in parts.items()
    ]
    for thread in threads:
        thread.start()
    if settings.worker_heartbeat_file:
        heart = threading.Thread(
            target=keep_beating,
            args=(Path(settings.worker_heartbeat_file), lambda: _problem(app, threads), stop),
            name="heartbeat",
            daemon=True,
        )
        heart.start()
        threads.append(heart)
    log.info("worker running: %s", ", ".join(parts))
    try:
        stop.wait()
    finally:
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        app.store.close()
        log.info("worker stopped")
