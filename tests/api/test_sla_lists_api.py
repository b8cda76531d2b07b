"""SLA clocks in list summaries, ``sort=due`` and ``breached=`` on the handler and admin queues,
with the projection running and the application's clock under the test's control."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.tickets import TicketingApp
from domain.actors import Actor, Role
from tests.api.conftest import ADMIN_ID, Auth

pytestmark = pytest.mark.usefixtures("projecting")

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2031, 3, 3, tzinfo=SHANGHAI)  # a Monday; service hours 09:00-17:00
ADMIN = Actor(ADMIN_ID, Role.ADMIN, "Root")


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


class Desk:
    """A handler's desk: the application under a settable clock, and its HTTP API."""

    def __init__(self, app: TicketingApp, clock: SettableClock, client: FlaskClient) -> None:
        self.app, self.clock, self.client = app, clock, client
        self.handler = Actor(f"hal-{uuid4().hex[:8]}", Role.HANDLER, "Hal")
        self.user = Actor(f"user-{uuid4().hex[:8]}", Role.USER, "Una")
        self.workspace = f"ws-{uuid4().hex[:8]}"
        app.platform.member_joined(self.workspace, self.user.account_id, str(uuid4()))
        app.handlers.register_handler(ADMIN, self.handler.account_id, "Hal", [])

    def submit(self, when: datetime) -> str:
        """A ticket submitted at ``when`` and forwarded to the desk's handler."""
        self.clock.set(when)
        result = self.app.submit(
            self.user, self.workspace, ticket_type="bug", title="t", description="d"
        )
        ticket_id = str(result.ticket.id)
        self.app.forward(ADMIN, ticket_id, self.handler.account_id)
        return ticket_id

    def answer(self, ticket_id: str, text: str) -> None:
        """The handler takes the ticket (if nobody has yet) and answers."""
        if self.app.ticket(ADMIN, ticket_id).status == "waiting_for_assignment":
            self.app.accept(self.handler, ticket_id)
        self.app.reply(self.handler, ticket_id, text)

    def get(self, auth: Auth, path: str, who: Actor | None = None) -> Any:
        who = who or self.handler
        position = str(self.app.store.recorder.max_notification_id())
        headers = auth(who.account_id, who.role.value, **{"X-Ticketing-Position": position})
        return self.client.get(f"/api/v1{path}", headers=headers)

    def ids(self, auth: Auth, path: str, who: Actor | None = None) -> list[str]:
        response = self.get(auth, path, who)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    def pages(self, auth: Auth, path: str) -> list[list[str]]:
        """Every page of a list, following next_cursor."""
        pages, cursor = [], None
        for _ in range(20):
            separator = "&" if "?" in path else "?"
            response = self.get(auth, path + (f"{separator}cursor={cursor}" if cursor else ""))
            assert response.status_code == 200, response.get_json()
            document = response.get_json()
            pages.append([item["id"] for item in document["items"]])
            cursor = document["next_cursor"]
            if cursor is None:
                return pages
        raise AssertionError("more than 20 pages")


@pytest.fixture
def desk(api_settings: Settings) -> Iterator[Desk]:
    clock = SettableClock(MONDAY)
    app = build_app(api_settings, clock=clock)
    flask_app = create_app({"SETTINGS": api_settings, "TICKETING_APP": app, "TESTING": True})
    yield Desk(app, clock, flask_app.test_client())
    app.store.close()


def test_summaries_show_the_clocks_as_the_details_do(desk: Desk, auth: Auth) -> None:
    ticket = desk.submit(at(10))
    desk.clock.set(at(15))  # the first response was due at 14:00
    [item] = desk.get(auth, "/handler/tickets").get_json()["items"]
    details = desk.get(auth, f"/tickets/{ticket}").get_json()
    for sla in (item["sla"], details["sla"]):
        assert datetime.fromisoformat(sla["first_response_due_at"]) == at(14)
        assert datetime.fromisoformat(sla["resolution_due_at"]) == at(10, day=7)
        assert sla["first_responded_at"] is None
        assert sla["breached"] == ["first_response"]
    assert item["sla"]["first_response_due_at"].endswith("+00:00"), "lists speak UTC"


def test_sort_by_due_puts_the_nearest_running_deadline_first(desk: Desk, auth: Auth) -> None:
    answered_then_asked = desk.submit(at(9))
    desk.clock.set(at(9, 30))
    desk.answer(answered_then_asked, "which dashboard?")
    desk.clock.set(at(10))
    desk.app.reply(desk.user, answered_then_asked, "the main one")  # resolution runs again
    due_at_14 = desk.submit(at(10))
    waiting_on_user = desk.submit(at(10, 30))
    desk.answer(waiting_on_user, "please send a screenshot")  # paused
    due_at_15 = desk.submit(at(11))
    closed = desk.submit(at(11, 30))
    desk.app.accept(desk.handler, closed)
    desk.app.complete(desk.handler, closed)
    desk.clock.set(at(12))

    newest_first = [closed, due_at_15, waiting_on_user, due_at_14, answered_then_asked]
    assert desk.ids(auth, "/handler/tickets") == newest_first
    by_due = [due_at_14, due_at_15, answered_then_asked, waiting_on_user, closed]
    assert desk.ids(auth, "/handler/tickets?sort=due") == by_due
    assert desk.pages(auth, "/handler/tickets?sort=due&limit=2") == [
        by_due[:2],
        by_due[2:4],
        by_due[4:],
    ]
    path = f"/admin/tickets?sort=due&assignee={desk.handler.account_id}"
    assert desk.ids(auth, path, ADMIN) == by_due


def test_breached_filter_follows_the_clock(desk: Desk, auth: Auth) -> None:
    early = desk.submit(at(10))  # first response due 14:00
    late = desk.submit(at(11))  # due 15:00
    desk.clock.set(at(13))
    assert desk.ids(auth, "/handler/tickets?breached=true") == []
    assert desk.ids(auth, "/handler/tickets?breached=false") == [late, early]
    desk.clock.set(at(14, 30))
    assert desk.ids(auth, "/handler/tickets?breached=true") == [early]
    desk.answer(late, "on it")  # answered in time: never breached
    desk.clock.set(at(16))
    assert desk.ids(auth, "/handler/tickets?breached=true&sort=due") == [early]
    path = f"/admin/tickets?breached=true&assignee={desk.handler.account_id}"
    assert desk.ids(auth, path, ADMIN) == [early]


def test_sort_and_breached_refusals(desk: Desk, auth: Auth) -> None:
    desk.submit(at(10))
    desk.submit(at(11))
    newest = desk.get(auth, "/handler/tickets?limit=1").get_json()["next_cursor"]
    response = desk.get(auth, f"/handler/tickets?sort=due&cursor={newest}")
    assert response.status_code == 422
    assert "sorted by newest" in str(response.get_json())
    assert desk.get(auth, "/handler/tickets?sort=oldest").status_code == 422
    assert desk.get(auth, "/handler/tickets?breached=maybe").status_code == 422


def test_sla_fields_are_in_the_openapi_document(desk: Desk) -> None:
    spec = desk.client.get("/api/v1/openapi.json").get_json()
    summary = spec["components"]["schemas"]["TicketSummary"]
    assert "sla" in summary["required"]
    for path in ("/api/v1/handler/tickets", "/api/v1/admin/tickets"):
        parameters = spec["paths"][path]["get"]["parameters"]
        assert {"sort", "breached"} <= {p["name"] for p in parameters if "name" in p}
