"""What the service-hours sweeps look at: tickets that may have waited too long on their user,
and SLA breaches not recorded yet. Candidates only: each rule is checked again on the ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from projections.view import ReadModelView


def waiting_on_user_since_before(view: ReadModelView, moment: datetime) -> list[UUID]:
    """Tickets in feedback_provided since before ``moment`` (candidates for the sweep)."""
    return _ticket_ids(
        view,
        "SELECT ticket_id FROM ticket_summaries WHERE status = 'feedback_provided' "
        "AND feedback_provided_since < %s ORDER BY feedback_provided_since",
        (moment,),
    )


def breaches_pending(view: ReadModelView, now: datetime) -> list[UUID]:
    """Tickets with an SLA clock breached by ``now`` and not yet recorded as breached."""
    return _ticket_ids(
        view,
        "SELECT ticket_id FROM ticket_summaries WHERE (NOT first_response_breach_recorded "
        "AND first_response_breached_after < %s) OR (NOT resolution_breach_recorded "
        "AND resolution_breached_after < %s)",
        (now, now),
    )


def due_soon(
    view: ReadModelView, now: datetime, closing_from: datetime, horizon: datetime
) -> list[UUID]:
    """Tickets that may be due for a warning: waiting on their user since before
    ``closing_from`` (the inactivity close is near), or with a running SLA clock due between
    ``now`` and ``horizon`` (``sla_due_at`` is the nearest running one's due time)."""
    return _ticket_ids(
        view,
        "SELECT ticket_id FROM ticket_summaries WHERE status = 'feedback_provided' "
        "AND feedback_provided_since < %(closing_from)s UNION "
        "SELECT ticket_id FROM ticket_summaries WHERE sla_due_at <= %(horizon)s "
        "AND ((first_responded_at IS NULL AND first_response_due_at > %(now)s) "
        "OR resolution_due_at > %(now)s)",
        {"now": now, "closing_from": closing_from, "horizon": horizon},
    )


def assigned_to(view: ReadModelView, account_ids: list[str]) -> list[tuple[UUID, str]]:
    """(ticket, assignee) of the tickets not yet closed assigned to these accounts."""
    with view.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT ticket_id, assignee_id FROM ticket_summaries WHERE assignee_id = ANY(%s) "
            "AND status <> 'closed'",
            (account_ids,),
        ).fetchall()
    return [(row["ticket_id"], row["assignee_id"]) for row in rows]


def _ticket_ids(view: ReadModelView, query: str, params: Any) -> list[UUID]:
    with view.datastore.get_connection() as conn:
        rows = conn.execute(query, params).fetchall()
    return [row["ticket_id"] for row in rows]
