"""The notifications follower in the worker (``projections.notifications``): derives who is
told what as events are stored, and forgets old ticket-feed rows now and then."""

from __future__ import annotations

import logging
import threading
import time

from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from projections.notifications import NotificationFollower, follow
from projections.view import ReadModelView, TicketingEventLog

log = logging.getLogger(__name__)
PRUNE_EVERY = 600.0  # seconds between two clean-ups of the ticket feed


def run_notifications(
    settings: Settings, stop: threading.Event, service_level: ServiceLevel | None = None
) -> None:
    """Derive notifications until ``stop`` is set; raises on a lost database (the worker's
    supervisor starts it again, and it resumes from its committed position)."""
    event_log = TicketingEventLog(eventsourcing_env(settings.database_url, 2))
    try:
        ReadModelView(event_log.datastore, service_level=service_level).create_table()
        follower = NotificationFollower(event_log, settings.default_assignee)
        log.info("notifications: deriving from position %d", follower.position())
        next_prune = 0.0

        def reached(position: int) -> None:
            nonlocal next_prune
            if time.monotonic() >= next_prune:
                follower.forget_old_feed()
                next_prune = time.monotonic() + PRUNE_EVERY

        follow(follower, stop, reached)
    finally:
        event_log.close()
