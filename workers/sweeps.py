"""Service-hours sweeps: inactivity close, closing reminders, SLA breaches.

Candidates come from the read model; each rule is checked again on the ticket itself before
anything is recorded, and a ticket changed by a concurrent sweep (or answered meanwhile) is
simply skipped, so running a sweep twice, or in two workers at once, acts once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.bootstrap import build_app, read_models
from application.config import Settings
from application.errors import TicketNotFound
from application.housekeeping import CLOSING_SOON_LEAD, SLA_DUE_SOON_LEAD
from application.tickets import TicketingApp
from domain.errors import InvalidTransition
from domain.inactivity import INACTIVITY_LIMIT
from projections.candidates import (
    assigned_to,
    breaches_pending,
    due_soon,
    waiting_on_user_since_before,
)
from projections.view import ReadModelView

log = logging.getLogger(__name__)
REMINDER = (
    "This ticket will close automatically in {hours} hours unless you reply. Reply to keep it open."
)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    closed: int
    skipped: int
    reminded: int


def sweep(
    app: TicketingApp, view: ReadModelView, now: datetime, reminder_hours: int = 0
) -> SweepResult:
    """Close what has been waiting on its user for more than 168 hours; remind if configured."""
    closed = skipped = reminded = 0
    for ticket_id in waiting_on_user_since_before(view, now - INACTIVITY_LIMIT):
        try:
            app.housekeeping.close_if_inactive(ticket_id, now=now)
            closed += 1
        except (InvalidTransition, TicketNotFound):
            skipped += 1  # closed meanwhile, answered, or not old enough after all
    if reminder_hours:
        lead = timedelta(hours=reminder_hours)
        text = REMINDER.format(hours=reminder_hours)
        for ticket_id in waiting_on_user_since_before(view, now - INACTIVITY_LIMIT + lead):
            reminded += app.housekeeping.remind_of_closing(ticket_id, now=now, lead=lead, text=text)
    if closed or reminded:
        log.info("inactivity sweep: %d closed, %d reminded, %d skipped", closed, reminded, skipped)
    return SweepResult(closed, skipped, reminded)


def record_breaches(app: TicketingApp, view: ReadModelView, now: datetime) -> int:
    """Record newly breached SLA targets (each once per ticket); they go out as
    ``TicketSlaBreached`` on tickets.events. Returns how many were recorded."""
    recorded = 0
    for ticket_id in breaches_pending(view, now):
        try:
            recorded += len(app.housekeeping.record_sla_breaches(ticket_id))
        except TicketNotFound:
            continue
    if recorded:
        log.info("SLA: %d breaches recorded", recorded)
    return recorded


def warn_before_due(app: TicketingApp, view: ReadModelView, now: datetime) -> int:
    """Record the ``closing_soon`` and ``sla_due_soon`` warnings that are due (each once);
    the notifications follower turns them into notifications. Returns how many."""
    horizon = app.store.service_level.calendar.add(now, SLA_DUE_SOON_LEAD)
    closing_from = now - INACTIVITY_LIMIT + CLOSING_SOON_LEAD
    warned = 0
    for ticket_id in due_soon(view, now, closing_from, horizon):
        try:
            warned += app.housekeeping.warn_before_due(ticket_id, now=now)
        except TicketNotFound:
            continue
    if warned:
        log.info("due times: %d warnings recorded", warned)
    return warned


def reassign_from_inactive(app: TicketingApp, view: ReadModelView) -> int:
    """Forward every ticket still assigned to a deactivated handler to the default assignee
    (the API does it when the handler is deactivated; this catches what a crash left)."""
    roster = app.handlers.roster(read_only=True).handlers
    inactive = [account for account, handler in roster.items() if not handler["active"]]
    moved = 0
    for ticket_id, handler_id in assigned_to(view, inactive) if inactive else []:
        try:
            moved += app.housekeeping.reassign_from_inactive(ticket_id, handler_id)
        except TicketNotFound:
            continue
    if moved:
        log.info("deactivated handlers: %d tickets forwarded to the default assignee", moved)
    return moved


def sweep_once(settings: Settings, now: datetime, catch_up: float = 30.0) -> SweepResult:
    """``ticketing autoclose``: one sweep as of ``now``, once the read models caught up."""
    app = build_app(settings)
    try:
        view = read_models(app)
        if not view.wait_for(app.store.recorder.max_notification_id() or 0, catch_up):
            log.warning(
                "the read models are behind; tickets not projected yet wait for the next sweep"
            )
        return sweep(app, view, now, settings.closing_reminder_hours)
    finally:
        app.store.close()


def sweep_periodically(app: TicketingApp, settings: Settings, stop: threading.Event) -> None:
    """The worker's scheduler: a sweep every ``autoclose_interval_seconds``."""
    view = read_models(app)  # the projection may not have created them yet
    while not stop.is_set():
        sweep(app, view, app.store.clock.now(), settings.closing_reminder_hours)
        record_breaches(app, view, app.store.clock.now())
        warn_before_due(app, view, app.store.clock.now())
        reassign_from_inactive(app, view)
        stop.wait(settings.autoclose_interval_seconds)
