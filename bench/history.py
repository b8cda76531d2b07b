"""A long history in bulk: many tickets in one workspace, as real submissions leave them.

One ticket is submitted through the application; its stored events are then copied with
``COPY`` under fresh ticket ids, with the ``ticket_owners`` rows a submission writes, and,
if asked, the ticket summaries the projection would have written. Submitting 100,000 tickets
through the application would take minutes; this takes seconds and leaves the same tables,
but for the reports' facts: none are written for the loaded tickets, so every process that
opens the read models afterwards warns, rightly, that their SLA clocks and reports were not
all computed by this version ("run `ticketing projections rebuild`"). The lists and searches
the benchmarks measure do not read the reports.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from psycopg import Cursor
from psycopg.rows import DictRow

from application.tickets import TicketingApp
from domain.actors import Actor
from domain.sla import SlaClocks
from projections.summaries import SLA_COLUMNS, clock_columns
from projections.view import ReadModelView

WORDS = ["dashboard", "latency", "alert", "billing", "export", "login", "agent", "query"]
STATUSES = ["waiting_for_assignment", "waiting_for_feedback", "closed"]  # nothing for the sweeps


def load_history(
    app: TicketingApp,
    workspace_id: str,
    submitter: Actor,
    tickets: int,
    view: ReadModelView | None = None,
    since: datetime = datetime(2025, 1, 1, tzinfo=UTC),
) -> list[UUID]:
    """``tickets`` tickets of ``submitter`` in ``workspace_id``, submitted from ``since`` on
    (in the read models); their ids."""
    template = app.submit(
        submitter, workspace_id, ticket_type="bug", title="Template", description="d"
    ).ticket
    stored = app.store.recorder.select_events(template.id)
    ids = [uuid4() for _ in range(tickets)]
    with app.store.datastore.transaction(commit=True) as curs:
        with curs.copy(
            "COPY ticketing_events (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy:
            for ticket_id in ids:
                for event in stored:
                    copy.write_row((ticket_id, event.originator_version, event.topic, event.state))
        with curs.copy(
            "COPY ticket_owners (ticket_id, workspace_id, account_id) FROM STDIN"
        ) as copy:
            for ticket_id in ids:
                copy.write_row((ticket_id, workspace_id, submitter.account_id))
        if view is not None:
            _load_summaries(curs, view, ids, workspace_id, submitter, since)
    with app.store.datastore.get_connection() as conn:
        conn.execute("ANALYZE ticketing_events")
        conn.execute("ANALYZE ticket_owners")
        if view is not None:
            conn.execute("ANALYZE ticket_summaries")
    return ids


def _load_summaries(
    curs: Cursor[DictRow],
    view: ReadModelView,
    ids: list[UUID],
    workspace_id: str,
    submitter: Actor,
    since: datetime,
) -> None:
    """Summary rows for the loaded tickets, SLA breaches marked as recorded (the sweeps skip
    them), numbers far above the sequence's and above those loaded before."""
    rng = random.Random(17)
    level = view.service_level
    columns = (
        "ticket_id, number, workspace_id, type, title, status, submitter_id, submitter_name, "
        "assignee_id, assignee_name, submitted_at, updated_at, version, "
        f"first_response_breach_recorded, resolution_breach_recorded, {', '.join(SLA_COLUMNS)}"
    )
    row = curs.execute("SELECT max(number) AS n FROM ticket_summaries").fetchone()
    first = max(10_000_000, (row["n"] if row else 0) or 0) + 1
    with curs.copy(f"COPY ticket_summaries ({columns}) FROM STDIN") as copy:
        for n, ticket_id in enumerate(ids):
            at = since + timedelta(seconds=n * 13)
            status = rng.choice(STATUSES)
            sla = clock_columns(SlaClocks.started(level.default, at), level)
            copy.write_row((
                ticket_id, first + n, workspace_id, "bug",
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} problem {n}", status,
                submitter.account_id, submitter.name, "lead", "Lead", at, at, 2, True, True,
                *(sla[column] for column in SLA_COLUMNS),
            ))  # fmt: skip
