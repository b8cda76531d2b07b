"""List endpoints through HTTP with the projection running: visibility, filters, pages."""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from api.app import create_app
from application.bootstrap import build_app
from application.config import Settings
from application.tickets import TicketingApp
from application.tokens import issue_token
from tests.api.conftest import ADMIN_ID, SECRET, Auth

pytestmark = pytest.mark.usefixtures("projecting")


def account() -> str:
    """A fresh account id, so no other test's tickets show up in its lists."""
    return f"acct-{uuid4().hex[:8]}"


class Desk:
    """Submits through HTTP and lists with the position it got back (read-your-writes)."""

    def __init__(self, client: FlaskClient, auth: Auth) -> None:
        self.client, self.auth, self.position = client, auth, "0"

    def submit(self, who: str, ws: str, **body: Any) -> dict[str, Any]:
        payload = {"type": "bug", "title": "A ticket", "description": "d", **body}
        response = self.client.post(
            f"/api/v1/workspaces/{ws}/tickets", json=payload, headers=self.auth(who)
        )
        assert response.status_code == 201, response.get_json()
        self.position = response.headers["X-Ticketing-Position"]
        document: dict[str, Any] = response.get_json()
        return document

    def command(self, who: str, role: str, path: str, body: dict[str, Any] | None = None) -> None:
        response = self.client.post(f"/api/v1{path}", json=body, headers=self.auth(who, role))
        assert response.status_code < 300, response.get_json()
        self.position = response.headers.get("X-Ticketing-Position", self.position)

    def get(self, who: str, path: str, role: str = "user") -> Any:
        headers = self.auth(who, role, **{"X-Ticketing-Position": self.position})
        return self.client.get(f"/api/v1{path}", headers=headers)

    def ids(self, who: str, path: str, role: str = "user") -> list[str]:
        response = self.get(who, path, role)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]


@pytest.fixture
def desk(client: FlaskClient, auth: Auth) -> Desk:
    return Desk(client, auth)


def test_all_tickets_are_the_workspaces_for_its_members(
    desk: Desk, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    alice, bob, mallory = account(), account(), account()
    ws = member(alice, bob)
    first = desk.submit(alice, ws)
    second = desk.submit(bob, ws)
    assert desk.ids(bob, f"/workspaces/{ws}/tickets") == [second["id"], first["id"]]
    ticketing.platform.member_left(ws, alice, str(uuid4()))
    assert desk.ids(bob, f"/workspaces/{ws}/tickets") == [second["id"], first["id"]], "tickets stay"
    assert desk.get(alice, f"/workspaces/{ws}/tickets").status_code == 403
    assert desk.get(mallory, f"/workspaces/{ws}/tickets").status_code == 403
    assert desk.get(ADMIN_ID, f"/workspaces/{ws}/tickets", "admin").status_code == 403


def test_summaries_have_the_contract_shape(desk: Desk, member: Callable[..., str]) -> None:
    alice = account()
    ws = member(alice)
    ticket = desk.submit(alice, ws, title="Shape")
    [item] = desk.get(alice, f"/workspaces/{ws}/tickets").get_json()["items"]
    assert set(item) == {
        "id", "number", "workspace_id", "type", "title", "status", "queue_state",
        "submitter", "assignee", "submitted_at", "updated_at", "sla",
    }  # fmt: skip
    assert item["sla"] == ticket["sla"], "the same clocks as the ticket details"
    assert item["number"] == ticket["number"]
    assert item["submitter"] == {"account_id": alice, "name": alice.title()}
    assert item["assignee"]["account_id"] == ADMIN_ID
    assert (item["status"], item["queue_state"]) == ("waiting_for_assignment", "pending")


def test_my_tickets_follow_current_membership(
    desk: Desk, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    alice = account()
    ws1, ws2 = member(alice), member(alice)
    in_one, in_two = desk.submit(alice, ws1), desk.submit(alice, ws2)
    assert desk.ids(alice, "/me/tickets") == [in_two["id"], in_one["id"]]

    ticketing.platform.member_left(ws1, alice, str(uuid4()))
    desk.position = str(ticketing.store.recorder.max_notification_id())
    assert desk.ids(alice, "/me/tickets") == [in_two["id"]]
    ticketing.platform.member_joined(ws1, alice, str(uuid4()))
    desk.position = str(ticketing.store.recorder.max_notification_id())
    assert desk.ids(alice, "/me/tickets") == [in_two["id"], in_one["id"]]
    ticketing.platform.workspace_dissolved(ws2, str(uuid4()))
    ticketing.platform.member_joined(ws2, alice, str(uuid4()))
    desk.position = str(ticketing.store.recorder.max_notification_id())
    assert desk.ids(alice, "/me/tickets") == [in_one["id"]], (
        "a dissolved workspace never comes back"
    )


def test_filters_and_search(desk: Desk, member: Callable[..., str]) -> None:
    alice = account()
    ws = member(alice)
    bug = desk.submit(alice, ws, type="bug", title="Crash in DASHBOARD view")
    usage = desk.submit(alice, ws, type="usage", title="How to use 100% of alerts_v2")
    other = desk.submit(alice, ws, type="other", title="Thanks")
    desk.command(alice, "user", f"/tickets/{other['id']}/revoke")
    base = f"/workspaces/{ws}/tickets"

    assert desk.ids(alice, f"{base}?type=bug&type=usage") == [usage["id"], bug["id"]]
    assert desk.ids(alice, f"{base}?status=revoked") == [other["id"]]
    assert desk.ids(alice, f"{base}?status=revoked&status=waiting_for_assignment") == [
        other["id"], usage["id"], bug["id"],
    ]  # fmt: skip
    assert desk.ids(alice, f"{base}?q=dashboard") == [bug["id"]]
    assert desk.ids(alice, f"{base}?q=%25") == [usage["id"]], "% is literal text"
    assert desk.ids(alice, f"{base}?q=s_v") == [usage["id"]], "_ is literal text"
    assert desk.ids(alice, f"{base}?q=zzz-nothing") == []
    assert desk.ids(alice, f"{base}?q={bug['number']}") == [bug["id"]]


@pytest.mark.parametrize(
    "query",
    [
        "type=nope",
        "status=open",
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=garbage",
        "q=" + "x" * 201,
    ],
)
def test_bad_list_queries_are_422(desk: Desk, member: Callable[..., str], query: str) -> None:
    alice = account()
    ws = member(alice)
    response = desk.get(alice, f"/workspaces/{ws}/tickets?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"]


def test_pagination_edges(desk: Desk, member: Callable[..., str]) -> None:
    alice = account()
    ws = member(alice)
    base = f"/workspaces/{ws}/tickets"
    assert desk.get(alice, base).get_json() == {"items": [], "next_cursor": None}
    submitted = [desk.submit(alice, ws, title=f"t{n}")["id"] for n in range(5)]
    newest_first = list(reversed(submitted))

    exact = desk.get(alice, f"{base}?limit=5").get_json()
    assert [i["id"] for i in exact["items"]] == newest_first
    assert exact["next_cursor"] is None, "an exact page has no next page"

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = desk.get(
            alice, f"{base}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        ).get_json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    assert cursor is None


def test_cursors_are_tamper_proof_and_bound_to_their_list(
    desk: Desk, member: Callable[..., str]
) -> None:
    alice = account()
    ws, other_ws = member(alice), member(alice)
    for n in range(3):
        desk.submit(alice, ws, title=f"t{n}")
    cursor = desk.get(alice, f"/workspaces/{ws}/tickets?limit=1").get_json()["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert desk.get(alice, f"/workspaces/{ws}/tickets?cursor={tampered}").status_code == 422
    assert desk.get(alice, f"/workspaces/{other_ws}/tickets?cursor={cursor}").status_code == 422
    assert desk.get(alice, f"/me/tickets?cursor={cursor}").status_code == 422


def test_handler_and_admin_queues(
    desk: Desk, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    alice, hank, olga = account(), account(), account()
    for handler in (hank, olga):
        desk.command(ADMIN_ID, "admin", "/admin/handlers", {"account_id": handler, "name": handler})
    ws = member(alice)
    ticket = desk.submit(alice, ws)
    desk.command(ADMIN_ID, "admin", f"/tickets/{ticket['id']}/forward", {"handler_id": hank})
    assert desk.ids(hank, "/handler/tickets", "handler") == [ticket["id"]]
    assert desk.ids(hank, "/handler/tickets?queue_state=processing", "handler") == []
    desk.command(hank, "handler", f"/tickets/{ticket['id']}/accept")
    assert desk.ids(hank, "/handler/tickets?queue_state=processing", "handler") == [ticket["id"]]
    desk.command(hank, "handler", f"/tickets/{ticket['id']}/forward", {"handler_id": olga})
    assert desk.ids(hank, "/handler/tickets", "handler") == [], "forwarded away"
    assert desk.ids(olga, "/handler/tickets", "handler") == [ticket["id"]]

    assert desk.ids(ADMIN_ID, f"/admin/tickets?assignee={olga}", "admin") == [ticket["id"]]
    assert desk.ids("audrey", f"/admin/tickets?assignee={olga}", "auditor") == [ticket["id"]]
    assert desk.get(alice, "/handler/tickets").status_code == 403
    assert desk.get(hank, "/admin/tickets", "handler").status_code == 403


def test_totals_count_the_list_and_each_queue_tab(
    desk: Desk, member: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, hank = account(), account()
    desk.command(ADMIN_ID, "admin", "/admin/handlers", {"account_id": hank, "name": "Hank"})
    ws = member(alice)
    tickets = [desk.submit(alice, ws, title=f"Printer {n}") for n in range(5)]
    desk.submit(alice, ws, type="other", title="Scanner")
    for ticket in tickets[:4]:
        desk.command(ADMIN_ID, "admin", f"/tickets/{ticket['id']}/forward", {"handler_id": hank})
    for ticket in tickets[:3]:
        desk.command(hank, "handler", f"/tickets/{ticket['id']}/accept")
    desk.command(hank, "handler", f"/tickets/{tickets[0]['id']}/complete")

    def totals(who: str, path: str, role: str = "user") -> dict[str, Any]:
        response = desk.get(who, path, role)
        assert response.status_code == 200, response.get_json()
        found: dict[str, Any] = response.get_json()["totals"]
        return found

    exact = {"count": 6, "exact": True}
    assert totals(alice, f"/workspaces/{ws}/tickets?limit=1&totals=true") == {"matching": exact}
    assert totals(alice, "/me/tickets?q=printer&totals=true")["matching"]["count"] == 5
    assert totals(alice, "/me/tickets?type=other&totals=true")["matching"]["count"] == 1
    assert "totals" not in desk.get(alice, "/me/tickets").get_json(), "only when asked"
    stranger = desk.get(account(), f"/workspaces/{ws}/tickets?totals=true")
    assert stranger.status_code == 403, "no count for who may not see the list"
    assert "totals" not in stranger.get_json()
    assert desk.get(alice, "/handler/tickets?totals=true").status_code == 403

    queue = totals(hank, "/handler/tickets?queue_state=processing&totals=true", "handler")
    assert queue["matching"] == {"count": 2, "exact": True}, "the list as filtered"
    assert {state: n["count"] for state, n in queue["queue_states"].items()} == {
        "pending": 1,
        "processing": 2,
        "completed": 1,
        "cancelled": 0,
    }, "each tab, whichever tab is open"
    found = totals(hank, f"/handler/tickets?q=%23{tickets[1]['number']}&totals=true", "handler")
    assert {state: n["count"] for state, n in found["queue_states"].items()} == {
        "pending": 0,
        "processing": 1,
        "completed": 0,
        "cancelled": 0,
    }, "the tabs count the search"
    by_hank = totals(ADMIN_ID, f"/admin/tickets?assignee={hank}&totals=true", "admin")
    assert by_hank["matching"]["count"] == 4
    assert by_hank["queue_states"]["completed"]["count"] == 1

    monkeypatch.setattr("projections.queries.COUNT_CAP", 3)
    capped = totals(alice, f"/workspaces/{ws}/tickets?totals=true")["matching"]
    assert capped == {"count": 3, "exact": False}, "counting stops at the cap"


def test_people_carry_the_roster_name_in_every_view(desk: Desk, member: Callable[..., str]) -> None:
    alice, hank = account(), account()
    desk.command(ADMIN_ID, "admin", "/admin/handlers", {"account_id": hank, "name": "Hank"})
    ws = member(alice)
    ticket = desk.submit(alice, ws)
    desk.command(ADMIN_ID, "admin", f"/tickets/{ticket['id']}/forward", {"handler_id": hank})
    nameless = {"Authorization": f"Bearer {issue_token(SECRET, hank, 'handler', name='')}"}
    answer = desk.client.post(f"/api/v1/tickets/{ticket['id']}/accept", headers=nameless)
    assert answer.get_json()["assignee"]["name"] == "Hank", "the roster's, not the token's"
    reply = desk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "On it"}, headers=nameless
    )
    assert reply.get_json()["author"]["name"] == "Hank"
    desk.position = reply.headers["X-Ticketing-Position"]

    renamed = desk.client.patch(
        f"/api/v1/admin/handlers/{hank}",
        json={"name": "Hank Hill"},
        headers=desk.auth(ADMIN_ID, "admin"),
    )
    assert renamed.status_code == 200, renamed.get_json()
    details = desk.get(alice, f"/tickets/{ticket['id']}").get_json()
    assert details["assignee"]["name"] == "Hank Hill"
    by_hank = [
        m["author"]["name"] for m in details["messages"] if m["author"]["account_id"] == hank
    ]
    assert by_hank == ["Hank Hill"]
    messages = desk.get(alice, f"/tickets/{ticket['id']}/messages").get_json()["items"]
    assert [m["author"]["name"] for m in messages if m["author"]["account_id"] == hank] == [
        "Hank Hill"
    ]
    item = desk.get(alice, f"/workspaces/{ws}/tickets").get_json()["items"][0]
    assert item["assignee"]["name"] == "Hank Hill"
    assert item["submitter"] == {"account_id": alice, "name": alice.title()}, "the token's"
    exported = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=csv").get_data(as_text=True)
    assert "Hank Hill" in exported


def test_position_header(
    desk: Desk, member: Callable[..., str], ticketing: TicketingApp, database_url: str
) -> None:
    alice = account()
    ws = member(alice)
    desk.submit(alice, ws)
    assert desk.get(alice, f"/workspaces/{ws}/tickets").headers.get("X-Ticketing-Stale") is None
    bad = desk.client.get(
        "/api/v1/me/tickets", headers=desk.auth(alice, **{"X-Ticketing-Position": "soon"})
    )
    assert bad.status_code == 400

    # a position the store does not have is refused at once, not waited for (issue 42)
    future = str((ticketing.store.recorder.max_notification_id() or 0) + 1_000_000)
    started = time.monotonic()
    beyond = desk.client.get(
        "/api/v1/me/tickets", headers=desk.auth(alice, **{"X-Ticketing-Position": future})
    )
    assert beyond.status_code == 400
    assert "beyond the store's last event" in beyond.get_json()["detail"]
    assert time.monotonic() - started < 1.0  # the wait would be 5 s

    settings = Settings(database_url=database_url, default_assignee=ADMIN_ID, jwt_secret=SECRET)
    impatient = create_app(
        {"SETTINGS": settings, "TICKETING_APP": ticketing, "READ_YOUR_WRITES_TIMEOUT": 0}
    )
    head = str(ticketing.store.recorder.max_notification_id() or 0)
    response = impatient.test_client().get(
        "/api/v1/me/tickets", headers=desk.auth(alice, **{"X-Ticketing-Position": head})
    )
    assert response.status_code == 200  # reached, or stale after no wait at all


def test_export_csv_is_safe_and_complete(desk: Desk, member: Callable[..., str]) -> None:
    alice = account()
    ws = member(alice)
    evil = desk.submit(alice, ws, title='=HYPERLINK("http://x","click")')
    plain = desk.submit(alice, ws, title="Plain, with comma")
    response = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="tickets-' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["Ticket id"] for row in rows] == [plain["id"], evil["id"]]
    assert rows[1]["Title"] == "'" + evil["title"]
    assert rows[0]["Title"] == "Plain, with comma"

    batch = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=csv&ids={evil['id']}")
    assert "1-selected" in batch.headers["Content-Disposition"]
    chosen = csv.DictReader(io.StringIO(batch.get_data(as_text=True)))
    assert [row["Ticket id"] for row in chosen] == [evil["id"]]


def test_export_xlsx(desk: Desk, member: Callable[..., str]) -> None:
    alice = account()
    ws = member(alice)
    ticket = desk.submit(alice, ws, title="+1 formula-looking")
    response = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Number", "Title")
    assert rows[1][rows[0].index("Ticket id")] == ticket["id"]
    assert rows[1][1] == "'+1 formula-looking"


def test_an_export_reads_as_the_console_shows_it(desk: Desk, member: Callable[..., str]) -> None:
    """Issue 29: names for type, status and people, the codes beside them, the SLA due time
    and the rating; a file name that says what it holds and when."""
    alice = account()
    ws = member(alice)
    ticket = desk.submit(alice, ws, title="Charts are empty")
    admin = desk.auth(ADMIN_ID, "admin")
    path = f"/api/v1/tickets/{ticket['id']}"
    assert desk.client.post(f"{path}/accept", headers=admin).status_code == 200
    assert desk.client.post(f"{path}/complete", headers=admin).status_code == 200
    rated = desk.client.post(f"{path}/rating", json={"score": 4}, headers=desk.auth(alice))
    assert rated.status_code == 200
    desk.position = rated.headers["X-Ticketing-Position"]
    response = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=csv&type=bug")
    disposition = response.headers["Content-Disposition"]
    assert f"-bug-{datetime.now(UTC):%Y-%m-%d}.csv" in disposition
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["Type"] == "Bug Report"
    assert row["Type code"] == "bug"
    assert row["Status"] == "Closed"
    assert row["Status code"] == "closed"
    assert row["Rating"] == "4"
    # the roster's name, else the one the ticket recorded (the accepting token's), else the id
    assert row["Assignee"] == "Api-Root"
    assert row["Assignee id"] == ADMIN_ID
    assert row["Submitter"]
    open_one = desk.submit(alice, ws, title="Still open")
    response = desk.get(alice, f"/workspaces/{ws}/tickets/export?format=csv&ids={open_one['id']}")
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["SLA due"] == open_one["sla"]["first_response_due_at"]
    assert row["Rating"] == ""


@pytest.mark.parametrize(
    "query", ["", "format=pdf", "format=csv&ids=not-a-uuid", "format=csv&ids=,"]
)
def test_export_refusals(desk: Desk, member: Callable[..., str], query: str) -> None:
    alice = account()
    ws = member(alice)
    assert desk.get(alice, f"/workspaces/{ws}/tickets/export?{query}").status_code == 422


def test_export_needs_membership(desk: Desk, member: Callable[..., str], flask_app: Flask) -> None:
    ws = member(account())
    assert desk.get(account(), f"/workspaces/{ws}/tickets/export?format=csv").status_code == 403


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_batch_of_thousands_of_chosen_tickets_exports_by_post(
    desk: Desk, member: Callable[..., str], file_format: str
) -> None:
    alice = account()
    ws = member(alice)
    chosen = [desk.submit(alice, ws, title=f"chosen {n}")["id"] for n in range(3)]
    desk.submit(alice, ws, title="not chosen")
    ids = [str(uuid4()) for _ in range(2_997)] + chosen  # 3,000 ids: far past any URL
    response = desk.client.post(
        f"/api/v1/workspaces/{ws}/tickets/export",
        json={"format": file_format, "ids": ids},
        headers=desk.auth(alice, **{"X-Ticketing-Position": desk.position}),
    )
    assert response.status_code == 200, response.get_json()
    if file_format == "csv":
        exported = [
            row["Ticket id"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))
        ]
    else:
        sheet = load_workbook(io.BytesIO(response.get_data())).active
        header, *cells = list(sheet.iter_rows(values_only=True))
        exported = [row[header.index("Ticket id")] for row in cells]
    assert sorted(exported) == sorted(chosen)


@pytest.mark.parametrize(
    "body",
    [
        {"format": "csv", "ids": []},
        {"format": "csv", "ids": ["nope"]},
        {"ids": ["x"]},
        {"format": "csv", "ids": [str(uuid4())] * 5_001},
    ],
)
def test_batch_export_refusals(
    desk: Desk, member: Callable[..., str], body: dict[str, Any]
) -> None:
    alice = account()
    ws = member(alice)
    response = desk.client.post(
        f"/api/v1/workspaces/{ws}/tickets/export", json=body, headers=desk.auth(alice)
    )
    assert response.status_code == 422


def test_a_members_list_is_one_round_trip_and_a_stale_copy_is_never_trusted(
    desk: Desk,
    member: Callable[..., str],
    ticketing: TicketingApp,
    api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process's copy of the workspace lets a member in, and the page's own statement
    confirms the copy is current (no read of the workspace before the page); a copy another
    process's write made stale is read afresh, so a member removed elsewhere is refused at
    once; an empty page, which cannot confirm anything, reads afresh too."""
    alice, bob = account(), account()
    ws = member(alice, bob)
    ticket = desk.submit(alice, ws)
    reads: list[object] = []
    fresh_read = ticketing.store.repository.get

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return fresh_read(*args, **kwargs)

    monkeypatch.setattr(ticketing.store.repository, "get", counted)
    assert desk.ids(alice, f"/workspaces/{ws}/tickets") == [ticket["id"]]
    assert reads == [], "the cached copy was confirmed by the page's statement"

    elsewhere = build_app(api_settings)  # another API process on the same store
    try:
        elsewhere.platform.member_left(ws, alice, str(uuid4()))
    finally:
        elsewhere.store.close()
    assert desk.get(alice, f"/workspaces/{ws}/tickets").status_code == 403
    assert desk.ids(bob, f"/workspaces/{ws}/tickets") == [ticket["id"]]
    reads.clear()
    assert desk.ids(bob, f"/workspaces/{ws}/tickets?q=nothing-like-it") == []
    assert len(reads) == 1, "an empty page confirms nothing: the workspace is read afresh"
