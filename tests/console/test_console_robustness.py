"""The web console under hard conditions: small screens, keyboard only, offline, hostile text."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone


def test_phone_and_desktop_widths_need_no_horizontal_scrolling(
    open_page: Opener, console: Console
) -> None:
    lee = someone()
    ws = console.workspace(lee)
    ticket = console.submit(lee, ws, title="A rather long title " * 9, description="word " * 400)
    token = console.token(lee)
    for width in (390, 1280):
        for path, ready in (
            (f"/?workspace={ws}", "Ticket Management"),
            (f"/tickets/{ticket['id']}", None),
        ):
            page = open_page(token, path, width=width, height=844)
            if ready:
                expect(page.get_by_role("heading", name=ready)).to_be_visible()
                expect(page.locator("#ticket-table tbody tr").first).to_contain_text(
                    "A rather long"
                )
            else:
                expect(page.get_by_label("Message")).to_be_visible()
            assert _overflow(page) <= 0, f"{path} scrolls sideways at {width} px"
    admin = console.token(ADMIN_ID, "admin")
    for path in ("/handler", "/admin/handlers"):
        page = open_page(admin, path, width=390, height=844)
        expect(page.locator("table tbody tr").first).to_be_visible()
        assert _overflow(page) <= 0, f"{path} scrolls sideways at 390 px"


def _overflow(page: Page) -> Any:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_keyboard_alone_can_submit_a_ticket(open_page: Opener, console: Console) -> None:
    mia = someone()
    console.workspace(mia)
    page = open_page(console.token(mia))
    expect(page.get_by_role("button", name="Submit Ticket")).to_be_enabled()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Submit Ticket":
            break
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Type")).to_be_focused()
    page.keyboard.press("ArrowDown")  # Unbind MFA
    for _ in range(6):
        page.keyboard.press("ArrowDown")  # down to Usage Issues
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard only")
    page.keyboard.press("Tab")
    page.keyboard.type("No mouse was used.")
    for _ in range(5):  # past Attachments and Cancel
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Submit":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keyboard only")
    expect(page.get_by_role("complementary", name="Ticket")).to_contain_text("Usage Issues")


def test_nothing_is_fetched_from_another_origin_and_the_api_docs_work_offline(
    open_page: Opener, console: Console
) -> None:
    page = open_page(None, "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ticketing")
    expect(page.get_by_text("/workspaces/{workspace_id}/tickets").first).to_be_visible()
    # open_page's guard fails the test if any request went elsewhere; the console says so too
    status = page.request.get(console.base + "/")
    policy = status.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy


def test_hostile_text_is_shown_as_text_never_run(open_page: Opener, console: Console) -> None:
    nina = someone()
    ws = console.workspace(nina)
    title = '<img src="/pwned" onerror="document.title=1">'
    body = "<script>window.pwned = 1</script>\n\u202eevil\u202c and a tab\tend"
    ticket = console.submit(nina, ws, title=title, description=body)
    page = open_page(console.token(nina), f"/?workspace={ws}")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    assert page.locator("#ticket-table img").count() == 0
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_text("<script>window.pwned = 1</script>")).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img, main script").count() == 0
    assert ticket["title"] == title


def test_a_moment_of_database_trouble_offers_to_try_again(
    open_page: Opener, console: Console
) -> None:
    ana = someone()
    ws = console.workspace(ana)
    console.submit(ana, ws, title="Still here")
    page = open_page(console.token(ana), f"/?workspace={ws}")
    rows = page.locator("#ticket-table tbody")
    expect(rows).to_contain_text("Still here")
    answered: list[str] = []

    def unavailable_once(route: Any) -> None:
        """The list answers 503 once, as the API does while the database stalls."""
        if answered:
            route.continue_()
            return
        answered.append(route.request.url)
        problem = {"type": "about:blank", "title": "Service Unavailable", "status": 503,
                   "detail": "the database is unavailable; try again shortly"}  # fmt: skip
        route.fulfill(
            status=503,
            headers={"Content-Type": "application/problem+json", "Retry-After": "5"},
            body=json.dumps(problem),
        )

    page.route(re.compile(r"/api/v1/workspaces/[^/]+/tickets\?"), unavailable_once)
    page.reload()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("the database is unavailable; try again shortly")
    expect(rows).to_contain_text("The list could not be loaded.")
    alert.get_by_role("button", name="Try again").click()
    expect(rows).to_contain_text("Still here")
    expect(alert).to_be_hidden()
    assert len(answered) == 1


def test_a_view_that_fails_to_draw_ends_in_an_alert_not_in_loading(
    open_page: Opener, console: Console
) -> None:
    """Issue 29: a details page stayed on "Loading the ticket…" for ever; whatever a view
    cannot draw now ends in an alert with a way on."""
    ben = someone()
    ws = console.workspace(ben)
    ticket = console.submit(ben, ws, title="Drawn again")
    page = open_page(console.token(ben), "/")
    answered: list[str] = []

    def half_a_ticket(route: Any) -> None:
        """The ticket answers once with a document the view cannot draw."""
        if answered:
            route.continue_()
            return
        answered.append(route.request.url)
        route.fulfill(status=200, headers={"Content-Type": "application/json"}, body="{}")

    page.route(re.compile(rf"/api/v1/tickets/{ticket['id']}$"), half_a_ticket)
    page.goto(f"{console.base}/tickets/{ticket['id']}")
    expect(page.get_by_role("heading", name="This page could not be shown")).to_be_visible()
    expect(page.get_by_text("Loading the ticket…")).to_have_count(0)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Drawn again")).to_be_visible()
