"""Reports (CONTRACT.md §8): how support is doing, for admins and auditors, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app

from api.auth import current_actor
from api.export import safe_cell
from api.http import ticketing
from api.lists import read_your_writes
from api.parsing import Blueprint
from api.schemas import ReportQuerySchema, ReportSchema
from domain import reports
from domain.actors import Role
from domain.errors import NotAllowed, ValidationFailed
from domain.reports import Interval
from domain.status import CloseReason
from projections.report_queries import ReportQuery, Reports

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="How support is doing")
CSV = "text/csv"


def _reports() -> Reports:
    found: Reports = current_app.extensions["reports"]
    return found


@blp.route("/admin/reports", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportSchema)
def report(query: dict[str, Any]) -> Any:
    """Submitted, closed, first-response and resolution times (p50, p90), SLA met, CSAT and
    backlog for a date range, per period and per assignee (admins and auditors). Days are the
    service calendar's; see the README for what each figure counts."""
    if current_actor().role not in (Role.ADMIN, Role.AUDITOR):
        raise NotAllowed("only admins and auditors read reports")
    interval = Interval(query["interval"])
    problems = reports.check_range(query["from"], query["to"], interval)
    if problems:
        raise ValidationFailed({"to": list(problems)})
    headers = read_your_writes()
    document = _reports().report(
        ReportQuery(
            first=query["from"],
            last=query["to"],
            interval=interval,
            workspace_id=query.get("workspace_id"),
            types=tuple(query.get("type", [])),
            assignees=tuple(query.get("assignee", [])),
        )
    )
    names = _names({row["assignee_id"] for row in document["by_assignee"]})
    document["by_assignee"] = [_named(row, names) for row in document["by_assignee"]]
    if query.get("format") == "csv":
        name = f"report-{query['from']}-{query['to']}-{interval}.csv"
        return Response(
            _csv(document),
            mimetype=CSV,
            headers={**headers, "Content-Disposition": f'attachment; filename="{name}"'},
        )
    return document, 200, headers


def _named(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    account_id = row.pop("assignee_id")
    return {"assignee": {"account_id": account_id, "name": names[account_id]}, **row}


def _names(account_ids: set[str]) -> dict[str, str]:
    """Names as the roster has them, else the account id."""
    name = ticketing().handlers.display_name
    return {account_id: name(account_id) for account_id in account_ids}


CSV_COLUMNS = (
    "scope", "period_start", "assignee_id", "assignee_name", "submitted", "closed_total",
    *(f"closed_{reason}" for reason in CloseReason),
    "first_response_p50", "first_response_p90", "first_response_count",
    "resolution_p50", "resolution_p90", "resolution_count",
    "sla_first_response_met_pct", "sla_resolution_met_pct",
    "csat_average", *(f"csat_{score}" for score in range(1, 6)), "csat_rated_pct",
    *(f"backlog_{state}" for state in reports.OPEN_QUEUE_STATES),
)  # fmt: skip


def _csv(document: dict[str, Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    rows = [("total", None, None, document["totals"])]
    rows += [("period", point["period_start"], None, point) for point in document["series"]]
    rows += [("assignee", None, row["assignee"], row) for row in document["by_assignee"]]
    for scope, start, assignee, figures in rows:
        first, final = (
            figures["first_response_business_minutes"],
            figures["resolution_business_minutes"],
        )
        csat = figures["csat"]
        writer.writerow(
            [
                safe_cell(value, split=True)
                for value in (
                    scope,
                    None if start is None else start.isoformat(),
                    None if assignee is None else assignee["account_id"],
                    None if assignee is None else assignee["name"],
                    figures["submitted"],
                    figures["closed"]["total"],
                    *(figures["closed"][str(reason)] for reason in CloseReason),
                    first["p50"], first["p90"], first["count"],
                    final["p50"], final["p90"], final["count"],
                    figures["sla_first_response_met_pct"],
                    figures["sla_resolution_met_pct"],
                    csat["average"],
                    *(csat["counts"][str(score)] for score in range(1, 6)),
                    csat["rated_pct"],
                    *(figures["backlog"][str(state)] for state in reports.OPEN_QUEUE_STATES),
                )
            ]
        )  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
