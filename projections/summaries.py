"""How each stored event changes the read models: one SQL statement per event type.

The status rules mirror the Ticket aggregate's event mutators; a test compares the read
models with the aggregates after randomised histories, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from application.service_level import ServiceLevel
from domain import inactivity
from domain.platform import Workspace
from domain.sla import FIRST_RESPONSE, SlaClocks
from domain.status import Status
from domain.ticket import Ticket
from projections.reports import apply_report
from projections.storable import write_storable_text

Apply = Callable[[Cursor[DictRow], Any, ServiceLevel], None]

_TOUCH = "version = %(version)s, updated_at = %(at)s"
# sla_due_at of a ticket none of whose clocks runs: after every due time (not 'infinity',
# which Python's datetime cannot hold)
NOT_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def _params(event: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": event.originator_id,
        "version": event.originator_version,
        "at": event.timestamp,
        **extra,
    }


def clock_columns(clocks: SlaClocks, level: ServiceLevel) -> dict[str, Any]:
    """The SLA columns: the clocks' state, the sort key, and when each clock counts as late."""
    settled = clocks.settled(level.calendar)
    return {
        "sla_clocks": Jsonb(clocks.to_state()),
        "sla_due_at": settled.nearest_running_due_at or NOT_DUE,
        "first_responded_at": clocks.first_responded_at,
        "first_response_due_at": settled.first_response_due_at,
        "resolution_due_at": settled.resolution_due_at,
        "first_response_breached_after": settled.first_response_breached_after,
        "resolution_breached_after": settled.resolution_breached_after,
    }


SLA_COLUMNS = (
    "sla_clocks", "sla_due_at", "first_responded_at", "first_response_due_at",
    "resolution_due_at", "first_response_breached_after", "resolution_breached_after",
)  # fmt: skip


_STORE_CLOCKS = (
    "UPDATE ticket_summaries SET "  # noqa: S608 - fixed column names only
    + ", ".join(f"{column} = %({column})s" for column in SLA_COLUMNS)
    + " WHERE ticket_id = %(ticket_id)s"
)


def _advance_clocks(
    curs: Cursor[DictRow],
    event: Any,
    row: DictRow | None,
    level: ServiceLevel,
    *,
    responded: bool = False,
) -> None:
    """Move the SLA clocks to the ticket's (new) status, and stop the first-response clock if
    this is the first response; store them if they changed."""
    if row is None or row["sla_clocks"] is None:
        return  # projected before the clocks existed: `projections rebuild` computes them
    clocks = SlaClocks.from_state(row["sla_clocks"])
    moved = clocks.entered(level.calendar, row["status"], event.timestamp)
    if responded:
        moved = moved.responded(level.calendar, event.timestamp)
    if moved != clocks:
        curs.execute(
            _STORE_CLOCKS, {"ticket_id": event.originator_id, **clock_columns(moved, level)}
        )


_SUMMARY_COLUMNS = (
    "ticket_id", "number", "workspace_id", "type", "title", "status", "submitter_id",
    "submitter_name", "assignee_id", "assignee_name", "submitted_at", "updated_at", "version",
    *SLA_COLUMNS,
)  # fmt: skip
_INSERT = (
    f"INSERT INTO ticket_summaries ({', '.join(_SUMMARY_COLUMNS)}) VALUES "  # noqa: S608 - fixed column names only
    f"({', '.join(f'%({column})s' for column in _SUMMARY_COLUMNS)})"
)


def _submitted(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    clocks = SlaClocks.started(level.targets_for(event.ticket_type), event.timestamp)
    curs.execute(
        _INSERT,
        _params(
            event,
            status=Status.WAITING_FOR_ASSIGNMENT.value,
            submitted_at=event.timestamp,
            updated_at=event.timestamp,
            number=event.number,
            workspace_id=event.workspace_id,
            type=event.ticket_type,
            title=event.title,
            submitter_id=event.submitter["account_id"],
            submitter_name=event.submitter.get("name", ""),
            assignee_id=event.assignee["account_id"],
            assignee_name=event.assignee.get("name", ""),
            **clock_columns(clocks, level),
        ),
    )


_RETURNING = " RETURNING status, sla_clocks"


def _set(status_sql: str, *, assignee: bool = False, responded: bool = False) -> Apply:
    """An update of status (an SQL expression of the old row), the inactivity clock that
    follows from it (``domain.inactivity``), and, if asked, the assignee."""
    assignments = f"status = {status_sql}"
    if assignee:
        assignments += ", assignee_id = %(assignee_id)s, assignee_name = %(assignee_name)s"
    assignments += f", feedback_provided_since = {inactivity.clock_after_sql(status_sql)}"
    statement = (
        f"UPDATE ticket_summaries SET {assignments}, {_TOUCH} WHERE ticket_id = %(ticket_id)s"  # noqa: S608 - fixed fragments only
        + _RETURNING
    )

    def apply(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
        extra: dict[str, Any] = {}
        if assignee:
            extra = {
                "assignee_id": event.assignee["account_id"],
                "assignee_name": event.assignee.get("name", ""),
            }
        row = curs.execute(statement, _params(event, **extra)).fetchone()
        _advance_clocks(curs, event, row, level, responded=responded)

    return apply


_AUTOMATIC_REPLY = _set("status")
_HANDLER_REPLY = _set(f"'{Status.FEEDBACK_PROVIDED.value}'", responded=True)


def _handler_replied(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    (_AUTOMATIC_REPLY if event.automatic else _HANDLER_REPLY)(curs, event, level)


def _sla_breached(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    recorded = (
        "first_response_breach_recorded" if event.target == FIRST_RESPONSE
        else "resolution_breach_recorded"
    )  # fmt: skip
    curs.execute(
        f"UPDATE ticket_summaries SET {recorded} = true, {_TOUCH} "  # noqa: S608 - fixed fragments only
        "WHERE ticket_id = %(ticket_id)s",
        _params(event),
    )


def _member_joined(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    curs.execute(
        "INSERT INTO memberships (workspace_id, account_id) "
        "SELECT %(workspace)s, %(account)s WHERE NOT EXISTS "
        "(SELECT 1 FROM dissolved_workspaces WHERE workspace_id = %(workspace)s) "
        "ON CONFLICT DO NOTHING",
        {"workspace": _workspace_id(curs, event), "account": event.account_id},
    )


def _member_left(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    curs.execute(
        "DELETE FROM memberships WHERE workspace_id = %s AND account_id = %s",
        (_workspace_id(curs, event), event.account_id),
    )


def _dissolved(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    workspace_id = _workspace_id(curs, event)
    curs.execute("DELETE FROM memberships WHERE workspace_id = %s", (workspace_id,))
    curs.execute(
        "INSERT INTO dissolved_workspaces (workspace_id, dissolved_at) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING",
        (workspace_id, event.timestamp),
    )


def _workspace_registered(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    curs.execute(
        "INSERT INTO workspace_ids (aggregate_id, workspace_id) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING",
        (event.originator_id, event.workspace_id),
    )


def _workspace_id(curs: Cursor[DictRow], event: Any) -> str:
    row = curs.execute(
        "SELECT workspace_id FROM workspace_ids WHERE aggregate_id = %s", (event.originator_id,)
    ).fetchone()
    assert row is not None, "a workspace's Registered event precedes its other events"
    return str(row["workspace_id"])


HANDLERS: dict[str, Apply] = {
    "Ticket.Submitted": _submitted,
    "Ticket.Accepted": _set("'waiting_for_feedback'", assignee=True),
    "Ticket.Forwarded": _set("status", assignee=True),
    "Ticket.HandlerReplied": _handler_replied,
    "Ticket.UserReplied": _set(
        "CASE status WHEN 'feedback_provided' THEN 'waiting_for_feedback' ELSE status END"
    ),
    "Ticket.Revoked": _set("'revoked'"),
    "Ticket.Restarted": _set("'waiting_for_assignment'", assignee=True),
    "Ticket.Closed": _set("'closed'"),
    "Ticket.Rated": _set("status"),
    "Ticket.SlaBreached": _sla_breached,
    "Workspace.Registered": _workspace_registered,
    "Workspace.MemberJoined": _member_joined,
    "Workspace.MemberLeft": _member_left,
    "Workspace.Dissolved": _dissolved,
}


def apply_event(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    """Change the read models for one stored event (events of no interest change nothing).

    SLA clocks are computed with ``level``: the read models hold them as of the settings
    they were projected with (``projections status`` tells when those settings changed).
    Text goes in as ``storable`` text, so no event in the store can stop the projection.
    """
    if not isinstance(event, Ticket.Event | Workspace.Event):
        return
    handler = HANDLERS.get(type(event).__qualname__)
    if handler is not None:
        write_storable_text(curs)
        handler(curs, event, level)
        apply_report(curs, event, level)
