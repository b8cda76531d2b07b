"""A title search in a small workspace walks the workspace instead of the trigram index, and
finds what the index finds (issue 26: the index made a small workspace pay for the platform)."""

from __future__ import annotations

import pytest

from application.tickets import TicketingApp
from projections import queries
from projections.queries import ListFilter, Scope, TicketLists
from projections.view import ReadModelView
from tests.integration.conftest import caught_up
from tests.people import user, workspace_with

TITLES = [
    "Latency dashboard is empty",
    "latency DASHBOARD slow",
    "100% CPU on the latency_dashboard",
    "Back\\slash in the title",
    "Nothing alike",
    "Ticket 7 is about something",
]
SEARCHES = ["latency dashboard", "LATENCY", "100%", "_dash", "\\", "%", "7", "zzz"]


def titles(lists: TicketLists, scope: Scope, q: str) -> list[str]:
    return [item["title"] for item in lists.page(scope, ListFilter(q=q), 20, None).items]


@pytest.fixture
def titled(app: TicketingApp, projecting: None) -> tuple[ReadModelView, Scope]:
    """A workspace with the TITLES, projected: the read models and the workspace's scope."""
    alice = user()
    ws = workspace_with(app, alice)
    for title in TITLES:
        app.submit(alice, ws, ticket_type="bug", title=title, description="d")
    view = caught_up(app)
    scope = Scope.workspace(ws)
    return view, scope


def test_small_and_large_workspaces_find_the_same_titles(
    titled: tuple[ReadModelView, Scope], monkeypatch: pytest.MonkeyPatch
) -> None:
    view, scope = titled
    walked = {q: titles(TicketLists(view, b"k"), scope, q) for q in SEARCHES}
    monkeypatch.setattr(queries, "SMALL_WORKSPACE", 3)  # now this workspace is "large"
    indexed = {q: titles(TicketLists(view, b"k"), scope, q) for q in SEARCHES}
    assert walked == indexed  # the same order too: both sort by time, then by ticket id
    # (this test's clock stands still: all six share a time, so only the sets are known)
    assert sorted(walked["latency dashboard"]) == [
        "Latency dashboard is empty",
        "latency DASHBOARD slow",
    ]
    assert walked["%"] == ["100% CPU on the latency_dashboard"]
    assert walked["\\"] == ["Back\\slash in the title"]
    assert walked["zzz"] == []


def test_the_plan_follows_the_workspace_size(
    titled: tuple[ReadModelView, Scope], monkeypatch: pytest.MonkeyPatch
) -> None:
    view, scope = titled
    small = TicketLists(view, b"k")
    statement = small.statement(scope, ListFilter(q="latency"), 20, None)[0].as_string()
    assert "strpos" in statement
    assert "LIKE" not in statement
    by_date = small.statement(scope, ListFilter(q="latency"), 20, None, order=queries.DUE)[0]
    assert "LIKE" in by_date.as_string()  # another order walks another index: not this one
    monkeypatch.setattr(queries, "SMALL_WORKSPACE", 3)
    large = TicketLists(view, b"k")
    statement = large.statement(scope, ListFilter(q="latency"), 20, None)[0].as_string()
    assert "strpos" not in statement
    assert "LIKE" in statement
    # a list that is not one workspace's never walks
    everything = small.statement(Scope.everything(), ListFilter(q="latency"), 20, None)[0]
    assert "LIKE" in everything.as_string()


def test_a_number_finds_its_ticket_first_and_hash_number_finds_it_alone(
    app: TicketingApp, projecting: None
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    target = app.submit(alice, ws, ticket_type="bug", title="the one", description="d").ticket
    number = str(target.number)
    for n in range(4):  # newer tickets whose titles hold the number: listed before it by date
        app.submit(alice, ws, ticket_type="bug", title=f"about {number} #{n}", description="d")
    view = caught_up(app)
    lists = TicketLists(view, b"k")
    scope = Scope.workspace(ws)
    found = lists.page(scope, ListFilter(q=number), 20, None).items
    assert found[0]["title"] == "the one"
    assert len(found) == 5
    alone = lists.page(scope, ListFilter(q=f"#{number}"), 20, None).items
    assert [item["title"] for item in alone] == ["the one"]
    assert lists.page(scope, ListFilter(q=f" # {number} "), 20, None).items == alone
    # page by page, in pages of one and of two: the same tickets, none twice
    for size in (1, 2):
        seen, cursor = [], None
        while True:
            page = lists.page(scope, ListFilter(q=number), size, cursor)
            seen += [item["id"] for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [item["id"] for item in found]
