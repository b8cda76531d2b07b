"""List endpoints (CONTRACT.md §2.2-2.3): All Tickets, My Tickets, handler and admin queues,
and the export, all from the read models.

A request that sends back ``X-Ticketing-Position`` waits (at most 5 s, and never past the
request's database deadline) until the read models have reached that write; if they have not,
the list is served anyway, marked ``X-Ticketing-Stale: true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from flask import Response, current_app, request, stream_with_context
from werkzeug.exceptions import BadRequest

from api.asgi import QUERY_TIME
from api.auth import current_actor
from api.export import Names, csv_chunks, xlsx_file
from api.http import ticketing
from api.limits import EXPORTS, spending
from api.parsing import Blueprint
from api.presenters import named
from api.schemas import (
    AdminListQuerySchema,
    ExportQuerySchema,
    ExportRequestSchema,
    ListQuerySchema,
    QueueListQuerySchema,
    TicketPageSchema,
)
from application.database import deadline, remaining
from application.store import CachedMembership
from domain.errors import ValidationFailed
from domain.status import QueueState
from projections import visibility
from projections.positions import POSITION_OUTCOME, Outcome, request_position
from projections.queries import NEWEST, InvalidCursor, ListFilter, Page, Scope, TicketLists

blp = Blueprint("lists", __name__, url_prefix="/api/v1", description="Ticket lists and export")
EXPORT_IDS_MAX = 1_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_STEP_DEADLINE = 4.0  # seconds each batch of an export may wait on the database
QUEUE_STATES = tuple(str(state) for state in QueueState)
T = TypeVar("T")


def ticket_lists() -> TicketLists:
    lists: TicketLists = current_app.extensions["ticket_lists"]
    return lists


def read_your_writes() -> dict[str, str]:
    """Wait for the position the request sends back, if any; the headers to answer with.

    Served by ``ticketing serve``, the request has waited on the event loop before it got a
    thread (``api.admission``), which left the outcome in the environ; otherwise it waits here, on
    the process's one watcher (``projections.positions``)."""
    raw = request.headers.get("X-Ticketing-Position")
    if raw is None:
        return {}
    try:
        position = request_position(raw)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    outcome = request.environ.get(POSITION_OUTCOME)
    if not isinstance(outcome, Outcome):
        left = remaining()
        wait = (
            ticket_lists().wait_timeout
            if left is None
            else min(ticket_lists().wait_timeout, left - QUERY_TIME)
        )
        outcome = ticket_lists().positions.wait(position, max(wait, 0))
    if outcome is Outcome.BEYOND:
        raise BadRequest(
            f"X-Ticketing-Position {position} is beyond the store's last event: send back "
            "the position a command answered with"
        )
    return {} if outcome is Outcome.REACHED else {"X-Ticketing-Stale": "true"}


def _bounded(items: Iterator[T], seconds: float = EXPORT_STEP_DEADLINE) -> Iterator[T]:
    """``items``, each taken with a database deadline of its own: an export outlives its
    request's deadline (a streamed body is read after the view returned), yet none of its
    reads may hang on a stalled database."""
    while True:
        with deadline(seconds):
            item = next(items, None)
        if item is None:
            return
        yield item


def _filters(query: dict[str, Any]) -> ListFilter:
    return ListFilter(
        types=query.get("type", []),
        statuses=query.get("status", []),
        queue_states=query.get("queue_state", []),
        assignee=query.get("assignee"),
        q=(query.get("q") or "").strip() or None,
        breached=query.get("breached"),
    )


def _page(
    scope: Scope,
    query: dict[str, Any],
    *,
    queues: bool = False,
    allowed: CachedMembership | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """One page of a list; with ``totals=true`` its counts as well (per queue state too on
    the lists that have queue tabs, ``queues``). ``allowed``: the cached membership that let
    the caller in, confirmed by the page's own statement (or read afresh before answering)."""
    headers = read_your_writes()
    filters = _filters(query)
    try:
        page: Page = ticket_lists().page(
            scope,
            filters,
            query["limit"],
            query.get("cursor"),
            query.get("sort", NEWEST),
            probe=allowed.probe if allowed is not None else None,
        )
    except InvalidCursor as error:
        raise ValidationFailed({"cursor": [str(error)]}) from None
    if allowed is not None and page.probed != allowed.version:
        _workspace_scope(scope.workspace_id or "")  # the copy was stale: 403 if no member now
    names = ticketing().handlers.display_names()
    for item in page.items:
        item["submitter"], item["assignee"] = (
            named(item["submitter"], names),
            named(item["assignee"], names),
        )
    answer: dict[str, Any] = {"items": page.items, "next_cursor": page.next_cursor}
    if query["totals"]:
        totals = ticket_lists().totals(scope, filters, QUEUE_STATES if queues else ())
        answer["totals"] = asdict(totals)
        if totals.queue_states is None:
            del answer["totals"]["queue_states"]
    return answer, 200, headers


def _workspace_scope(workspace_id: str) -> Scope:
    actor = current_actor()
    is_member = ticketing().is_member(workspace_id, actor.account_id)
    return visibility.all_tickets(actor, workspace_id, is_member=is_member)


def _workspace_page(
    workspace_id: str, query: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A page of a workspace's tickets for a current member. The membership this process's
    copy of the workspace shows is confirmed by the page's own statement (the copy's
    version is the workspace's current one), not by a read of its own first: a list is one
    round trip. A copy that says "no member", no copy, or a stale one: read afresh."""
    actor = current_actor()
    cached = ticketing().cached_membership(workspace_id, actor.account_id)
    if cached is None or not cached.member:
        return _page(_workspace_scope(workspace_id), query)
    scope = visibility.all_tickets(actor, workspace_id, is_member=True)
    return _page(scope, query, allowed=cached)


@blp.route("/workspaces/<id:workspace_id>/tickets", methods=["GET"])
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
def all_tickets(
    query: dict[str, Any], workspace_id: str
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """All Tickets of a workspace (its current members)."""
    return _workspace_page(workspace_id, query)


@blp.route("/me/tickets", methods=["GET"])
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
def my_tickets(query: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The caller's tickets in every workspace the caller is currently a member of."""
    return _page(visibility.my_tickets(current_actor()), query)


@blp.route("/handler/tickets", methods=["GET"])
@blp.arguments(QueueListQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
def handler_tickets(query: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Tickets assigned to the caller (handlers and admins)."""
    return _page(visibility.queue(current_actor()), query, queues=True)


@blp.route("/admin/tickets", methods=["GET"])
@blp.arguments(AdminListQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
def admin_tickets(query: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Every ticket on the platform (admins and auditors)."""
    return _page(visibility.every_ticket(current_actor()), query, queues=True)


def _export_ids(raw: str | None) -> list[UUID]:
    if raw is None:
        return []
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        ids = [UUID(part) for part in parts]
    except ValueError:
        raise ValidationFailed({"ids": ["must be ticket ids separated by commas"]}) from None
    if not ids or len(ids) > EXPORT_IDS_MAX:
        raise ValidationFailed({"ids": [f"name 1 to {EXPORT_IDS_MAX} tickets"]})
    return ids


@blp.route("/workspaces/<id:workspace_id>/tickets/export", methods=["GET"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
@blp.alt_response(200, description="an XLSX workbook", content_type=XLSX, success=True)
def export(query: dict[str, Any], workspace_id: str) -> Response:
    """Export the workspace's tickets: the list's filters, or ``ids=a,b,c`` for a small batch
    (a URL holds about 200 ids; POST takes thousands)."""
    ids = _export_ids(query.get("ids"))
    return _export(workspace_id, query["format"], ListFilter(ids=ids) if ids else _filters(query))


@blp.route("/workspaces/<id:workspace_id>/tickets/export", methods=["POST"])
@blp.arguments(ExportRequestSchema)
@blp.response(200, content_type="text/csv")
@blp.alt_response(200, description="an XLSX workbook", content_type=XLSX, success=True)
def export_batch(body: dict[str, Any], workspace_id: str) -> Response:
    """Export chosen tickets of the workspace, their ids in the body (up to 5,000)."""
    try:
        ids = [UUID(ticket_id) for ticket_id in body["ids"]]
    except ValueError:
        raise ValidationFailed({"ids": ["must be ticket ids"]}) from None
    return _export(workspace_id, body["format"], ListFilter(ids=ids))


def _export(workspace_id: str, file_format: str, filters: ListFilter) -> Response:
    scope = _workspace_scope(workspace_id)
    with spending(EXPORTS) as spent:
        headers = {**read_your_writes(), **spent}
    summaries = _bounded(ticket_lists().all_matching(scope, filters))
    names = person_names()
    name = _file_name(workspace_id, filters)
    if file_format == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return Response(
            xlsx_file(summaries, names), mimetype=XLSX, headers=headers, direct_passthrough=True
        )
    headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    body = stream_with_context(csv_chunks(summaries, names))
    return Response(body, mimetype="text/csv", headers=headers)


def person_names() -> Names:
    """One rule for a person's name (CONTRACT.md §5): the roster's, else the one the ticket
    recorded (the token's), else the account id. The roster is read here, once: a streamed
    export formats its rows after the request's database deadline."""
    names = ticketing().handlers.display_names()
    return lambda account_id, recorded: names.get(account_id) or recorded or account_id


def _file_name(workspace_id: str, filters: ListFilter) -> str:
    """``tickets-<workspace>[-<type>][-<status>][-search][-selected]-<date>``: what the file
    holds, and when it was taken."""
    parts = ["tickets", workspace_id, *filters.types, *filters.statuses]
    if filters.q:
        parts.append("search")
    if filters.ids:
        parts.append(f"{len(filters.ids)}-selected")
    parts.append(datetime.now(UTC).strftime("%Y-%m-%d"))
    return re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(parts))[:150]
