"""How each stored event changes the read models: one SQL statement per event type.

The status rules mirror the Ticket aggregate's event mutators; a test compares the read
models with the aggregates after randomised histories, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from domain.platform import Workspace
from domain.ticket import Ticket

Apply = Callable[[Cursor[DictRow], Any], None]

_TOUCH = "version = %(version)s, updated_at = %(at)s"


def _params(event: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": event.originator_id,
        "version": event.originator_version,
        "at": event.timestamp,
        **extra,
    }


def _submitted(curs: Cursor[DictRow], event: Any) -> None:
    curs.execute(
        "INSERT INTO ticket_summaries (ticket_id, number, workspace_id, type, title, status, "
        "submitter_id, submitter_name, assignee_id, assignee_name, submitted_at, updated_at, "
        "version) VALUES (%(ticket_id)s, %(number)s, %(workspace_id)s, %(type)s, %(title)s, "
        "'waiting_for_assignment', %(submitter_id)s, %(submitter_name)s, %(assignee_id)s, "
        "%(assignee_name)s, %(at)s, %(at)s, %(version)s)",
        _params(
            event,
            number=event.number,
            workspace_id=event.workspace_id,
            type=event.ticket_type,
            title=event.title,
            submitter_id=event.submitter["account_id"],
            submitter_name=event.submitter.get("name", ""),
            assignee_id=event.assignee["account_id"],
            assignee_name=event.assignee.get("name", ""),
        ),
    )


def _set(status_sql: str, *, assignee: bool = False) -> Apply:
    """An update of status (an SQL expression of the old row) and, if asked, the assignee."""
    assignments = f"status = {status_sql}"
    if assignee:
        assignments += ", assignee_id = %(assignee_id)s, assignee_name = %(assignee_name)s"
    # the inactivity clock keeps running only while the ticket stays in feedback_provided
    assignments += (
        f", feedback_provided_since = CASE WHEN {status_sql} = 'feedback_provided' "
        "THEN feedback_provided_since END"
    )
    statement = (
        f"UPDATE ticket_summaries SET {assignments}, {_TOUCH} WHERE ticket_id = %(ticket_id)s"  # noqa: S608 - fixed fragments only
    )

    def apply(curs: Cursor[DictRow], event: Any) -> None:
        extra: dict[str, Any] = {}
        if assignee:
            extra = {
                "assignee_id": event.assignee["account_id"],
                "assignee_name": event.assignee.get("name", ""),
            }
        curs.execute(statement, _params(event, **extra))

    return apply


def _handler_replied(curs: Cursor[DictRow], event: Any) -> None:
    if event.automatic:
        _set("status")(curs, event)
        return
    # the inactivity clock starts when the ticket enters feedback_provided, not on every reply
    curs.execute(
        "UPDATE ticket_summaries SET feedback_provided_since = CASE status "  # noqa: S608 - a fixed statement with parameters
        "WHEN 'feedback_provided' THEN feedback_provided_since ELSE %(at)s END, "
        f"status = 'feedback_provided', {_TOUCH} WHERE ticket_id = %(ticket_id)s",
        _params(event),
    )


def _member_joined(curs: Cursor[DictRow], event: Any) -> None:
    curs.execute(
        "INSERT INTO memberships (workspace_id, account_id) "
        "SELECT %(workspace)s, %(account)s WHERE NOT EXISTS "
        "(SELECT 1 FROM dissolved_workspaces WHERE workspace_id = %(workspace)s) "
        "ON CONFLICT DO NOTHING",
        {"workspace": _workspace_id(curs, event), "account": event.account_id},
    )


def _member_left(curs: Cursor[DictRow], event: Any) -> None:
    curs.execute(
        "DELETE FROM memberships WHERE workspace_id = %s AND account_id = %s",
        (_workspace_id(curs, event), event.account_id),
    )


def _dissolved(curs: Cursor[DictRow], event: Any) -> None:
    workspace_id = _workspace_id(curs, event)
    curs.execute("DELETE FROM memberships WHERE workspace_id = %s", (workspace_id,))
    curs.execute(
        "INSERT INTO dissolved_workspaces (workspace_id, dissolved_at) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING",
        (workspace_id, event.timestamp),
    )


def _workspace_registered(curs: Cursor[DictRow], event: Any) -> None:
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
    "Ticket.SlaBreached": _set("status"),
    "Workspace.Registered": _workspace_registered,
    "Workspace.MemberJoined": _member_joined,
    "Workspace.MemberLeft": _member_left,
    "Workspace.Dissolved": _dissolved,
}


def apply_event(curs: Cursor[DictRow], event: Any) -> None:
    """Change the read models for one stored event (events of no interest change nothing)."""
    if not isinstance(event, Ticket.Event | Workspace.Event):
        return
    handler = HANDLERS.get(type(event).__qualname__)
    if handler is not None:
        handler(curs, event)
