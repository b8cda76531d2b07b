"""Reports over HTTP (CONTRACT.md §8): admins and auditors only, JSON and CSV of the same
figures, refusals named."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, Auth, new_ticket

REPORTS = "/api/v1/admin/reports"


def today() -> str:
    return datetime.now(UTC).astimezone().date().isoformat()


@pytest.mark.parametrize(("role", "status"), [("user", 403), ("handler", 403), ("auditor", 200)])
def test_reports_are_for_admins_and_auditors(
    client: FlaskClient, auth: Auth, role: str, status: int
) -> None:
    day = today()
    answer = client.get(f"{REPORTS}?from={day}&to={day}", headers=auth("someone", role))
    assert answer.status_code == status


def test_a_workspace_report_counts_its_tickets_as_json_and_csv(
    client: FlaskClient, auth: Auth, member: Callable[..., str], projecting: None
) -> None:
    workspace = member("alice")
    tickets = [new_ticket(client, auth, "alice", workspace) for _ in range(3)]
    admin = auth(ADMIN_ID, "admin")
    for ticket in tickets[:2]:
        path = f"/api/v1/tickets/{ticket['id']}"
        assert client.post(f"{path}/accept", headers=admin).status_code == 200
        client.post(f"{path}/messages", json={"body": "Fixed"}, headers=admin)
    done = client.post(f"/api/v1/tickets/{tickets[0]['id']}/complete", headers=admin)
    assert done.status_code == 200
    rated = client.post(
        f"/api/v1/tickets/{tickets[0]['id']}/rating", json={"score": 4}, headers=auth("alice")
    )
    position = rated.headers["X-Ticketing-Position"]
    start = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    end = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    query = f"from={start}&to={end}&interval=day&workspace_id={workspace}"
    headers = auth("audrey", "auditor", **{"X-Ticketing-Position": position})
    answer = client.get(f"{REPORTS}?{query}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    document: dict[str, Any] = answer.get_json()
    totals = document["totals"]
    assert totals["submitted"] == 3
    assert totals["closed"]["total"] == totals["closed"]["completed"] == 1
    assert totals["first_response_business_minutes"]["count"] == 2
    assert totals["csat"]["counts"]["4"] == 1
    assert totals["csat"]["average"] == 4.0
    assert totals["csat"]["rated_pct"] == 100.0
    assert totals["backlog"] == {"pending": 1, "processing": 1, "cancelled": 0}
    assert len(document["series"]) == 5
    assert sum(point["submitted"] for point in document["series"]) == 3
    [row] = [r for r in document["by_assignee"] if r["assignee"]["account_id"] == ADMIN_ID]
    assert row["first_response_business_minutes"]["count"] == 2
    as_csv = client.get(f"{REPORTS}?{query}&format=csv", headers=headers)
    assert as_csv.status_code == 200
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["scope"] for r in rows] == ["total"] + ["period"] * 5 + ["assignee"] * len(
        document["by_assignee"]
    )
    assert rows[0]["submitted"] == "3"
    assert rows[0]["backlog_pending"] == "1"


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-02-10&to=2026-02-01",
        "from=2000-01-01&to=2026-01-01&interval=day",
        "from=2026-01-01&to=2026-01-31&interval=year",
        "from=2026-01-01&to=2026-01-31&type=nonsense",
        "from=yesterday&to=2026-01-31",
        "to=2026-01-31",
        "from=0001-01-01&to=0001-01-02",
        "from=9999-12-30&to=9999-12-31",
    ],
)
def test_a_wrong_range_is_422_naming_it(client: FlaskClient, auth: Auth, query: str) -> None:
    answer = client.get(f"{REPORTS}?{query}", headers=auth(ADMIN_ID, "admin"))
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
