"""The web console in a real browser (CONTRACT.md §5), driven by its labels and names."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import openpyxl
from playwright.sync_api import Page, expect

from application.plumbing import WorkerPlumbing
from tests.console.conftest import ADMIN_ID, Console, Opener

# smallest valid PNG: the service checks the bytes, not the name
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e1b6e60000000049454e44ae426082"
)
ACTIONS = {
    "revoke": "Revoke", "restart": "Restart", "close": "Close", "rate": "Rate",
    "accept": "Accept", "forward": "Forward", "complete": "Mark complete",
}  # fmt: skip


def someone(prefix: str = "user") -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


def action_buttons(page: Page) -> set[str]:
    group = page.get_by_role("group", name="Actions")
    if group.count() == 0:
        return set()
    return {name.strip() for name in group.get_by_role("button").all_inner_texts()}


def expect_actions(page: Page, console: Console, token: str, ticket_id: str) -> None:
    """The details page shows a button for exactly each of the ticket's allowed_actions."""
    status, ticket = console.api("GET", f"/tickets/{ticket_id}", token)
    assert status == 200
    wanted = {ACTIONS[action] for action in ticket["allowed_actions"] if action != "reply"}
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket["title"])
    assert action_buttons(page) == wanted
    expect(page.get_by_label("Message")).to_have_count(
        1 if "reply" in ticket["allowed_actions"] else 0
    )


def test_sign_in_by_link_keeps_the_token_for_the_tab_only(
    open_page: Opener, console: Console
) -> None:
    alice = someone()
    console.workspace(alice)
    page = open_page(console.token(alice, name="Alice Example"))
    expect(page.get_by_role("heading", name="Ticket Management")).to_be_visible()
    assert "token" not in page.url
    expect(page.get_by_text("Alice Example")).to_be_visible()
    page.reload()  # the tab keeps the session
    expect(page.get_by_role("heading", name="Ticket Management")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Token")).to_be_visible()


def test_without_a_token_the_sign_in_page_explains_and_refusals_say_why(
    open_page: Opener, console: Console
) -> None:
    page = open_page()
    expect(page.get_by_text("The platform signs people in")).to_be_visible()
    expect(page.get_by_label("Token")).to_be_visible()

    expired = console.token(someone(), ttl=-60)
    refused = open_page(expired)
    expect(refused.get_by_role("alert")).to_contain_text("expired")
    expect(refused.get_by_label("Token")).to_be_visible()

    forged = open_page("not.a.token")
    expect(forged.get_by_role("alert")).to_be_visible()
    forged.get_by_label("Token").fill(console.token(someone()))
    forged.get_by_role("button", name="Sign in").click()
    expect(forged.get_by_role("heading", name="Ticket Management")).to_be_visible()


def test_a_user_submits_with_an_attachment_and_sees_the_details(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    alice = someone()
    ws = console.workspace(alice)
    screenshot = tmp_path / "dashboard.png"
    screenshot.write_bytes(PNG)
    page = open_page(console.token(alice, name="Alice"))
    expect(page.get_by_text("No tickets yet")).to_be_visible()
    page.get_by_role("button", name="Submit Ticket").click()
    dialog = page.get_by_role("dialog")
    options = dialog.get_by_label("Type").locator("option").all_inner_texts()
    assert options[1:] == [
        "Unbind MFA", "Change Owner Account", "Purchase Inquiry", "Documentation Help",
        "Feature Request", "Bug Report", "Usage Issues", "Others",
    ]  # fmt: skip
    dialog.get_by_label("Type").select_option(label="Bug Report")
    dialog.get_by_label("Title").fill("Dashboard shows no data")
    dialog.get_by_label("Description").fill("Since 9:00 every chart is empty.\nTried two browsers.")
    dialog.get_by_label("Attachments").set_input_files(str(screenshot))
    expect(dialog.get_by_text("dashboard.png")).to_be_visible()
    dialog.get_by_role("button", name="Submit").click()

    expect(page).to_have_url(re.compile(r"/tickets/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard shows no data")
    panel = page.get_by_role("complementary", name="Ticket")
    expect(panel).to_contain_text("Waiting for Assignment")
    expect(panel).to_contain_text("Bug Report")
    expect(panel).to_contain_text(ws)
    expect(page.get_by_role("link", name="dashboard.png")).to_be_visible()
    expect(page.get_by_text("Automatic reply")).to_be_visible()  # the acknowledgement
    ticket_id = page.url.rsplit("/", 1)[1]
    expect_actions(page, console, console.token(alice), ticket_id)

    with page.expect_download() as download:
        page.get_by_role("link", name="dashboard.png").click()
    assert Path(download.value.path()).read_bytes() == PNG

    page.reload()  # the address opens directly
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard shows no data")
    page.get_by_role("link", name="Ticket Management").click()
    expect(page.get_by_role("link", name="Dashboard shows no data")).to_be_visible()


def test_a_refused_submission_shows_an_alert_and_records_nothing(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    bob = someone()
    ws = console.workspace(bob)
    page = open_page(console.token(bob))
    page.get_by_role("button", name="Submit Ticket").click()
    dialog = page.get_by_role("dialog")

    dialog.get_by_label("Type").select_option(label="Change Owner Account")
    expect(dialog.get_by_role("link", name="Download application form")).to_be_visible()
    dialog.get_by_label("Title").fill("New owner")
    dialog.get_by_label("Description").fill("Please move the account to Carol.")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Attachments")

    program = tmp_path / "form.exe"
    program.write_bytes(b"MZ\x90\x00")
    dialog.get_by_label("Attachments").set_input_files(str(program))
    expect(dialog.get_by_role("alert")).to_contain_text("format is not accepted")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Attachments")

    # a refusal only the service can make: the wrong verification code
    dialog.get_by_label("Attachments").set_input_files([])
    dialog.get_by_label("Type").select_option(label="Unbind MFA")
    dialog.get_by_label("E-mail").fill("bob@example.com")
    dialog.get_by_role("button", name="Send code").click()
    expect(dialog.get_by_text("code is on its way")).to_be_visible()
    dialog.get_by_label("Verification code").fill("000000")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Verification code")
    expect(dialog.get_by_role("alert")).to_contain_text("wrong code")

    status, page_of_tickets = console.api("GET", f"/workspaces/{ws}/tickets", console.token(bob))
    assert status == 200
    assert page_of_tickets["items"] == []


def test_unbind_mfa_with_the_code_from_the_e_mail(open_page: Opener, console: Console) -> None:
    carol = someone()
    console.workspace(carol)
    page = open_page(console.token(carol))
    page.get_by_role("button", name="Submit Ticket").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Type").select_option(label="Unbind MFA")
    dialog.get_by_label("Title").fill("Lost my phone")
    dialog.get_by_label("Description").fill("Please unbind MFA.")
    dialog.get_by_label("E-mail").fill("carol@example.com")
    dialog.get_by_role("button", name="Send code").click()
    expect(dialog.get_by_text("code is on its way")).to_be_visible()
    [message] = [
        m
        for m in WorkerPlumbing(console.app.store).outbox_batch(100_000)
        if m.payload["data"].get("email") == "carol@example.com"
    ]
    dialog.get_by_label("Verification code").fill(message.payload["data"]["code"])
    dialog.get_by_role("button", name="Submit").click()
    panel = page.get_by_role("complementary", name="Ticket")
    expect(panel).to_contain_text("carol@example.com")
    expect(panel).to_contain_text("Unbind MFA")


def test_a_handler_accepts_and_replies_the_user_closes_and_rates(
    open_page: Opener, console: Console
) -> None:
    dana = someone()
    ws = console.workspace(dana)
    ticket = console.submit(dana, ws, title="Alerts arrive late", description="By ten minutes.")
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")

    staff = open_page(admin, "/handler")
    expect(staff.get_by_role("tab", name="Pending")).to_have_attribute("aria-selected", "true")
    staff.get_by_role("link", name="Alerts arrive late").click()
    expect_actions(staff, console, admin, ticket["id"])
    staff.get_by_role("button", name="Accept").click()
    panel = staff.get_by_role("complementary", name="Ticket")
    expect(panel).to_contain_text("Waiting for Feedback")
    expect(staff.get_by_label("Automatic reply")).to_be_visible()  # staff only
    staff.get_by_label("Message").fill("We found a slow consumer; fixed now.")
    staff.get_by_role("button", name="Send").click()
    expect(panel).to_contain_text("Feedback Provided")
    expect_actions(staff, console, admin, ticket["id"])
    staff.get_by_role("link", name="Handler queues").click()
    staff.get_by_role("tab", name="Processing").click()
    expect(staff.get_by_role("link", name="Alerts arrive late")).to_be_visible()

    user = open_page(console.token(dana), f"/tickets/{ticket['id']}")
    expect(user.get_by_text("We found a slow consumer; fixed now.")).to_be_visible()
    expect(user.get_by_label("Automatic reply")).to_have_count(0)
    expect_actions(user, console, console.token(dana), ticket["id"])
    user.get_by_role("button", name="Close").click()
    confirm = user.get_by_role("dialog")
    expect(confirm).to_contain_text("cannot be reopened")
    confirm.get_by_role("button", name="Close ticket").click()
    user_panel = user.get_by_role("complementary", name="Ticket")
    expect(user_panel).to_contain_text("Closed")
    expect_actions(user, console, console.token(dana), ticket["id"])
    user.get_by_role("button", name="Rate").click()
    user.get_by_role("radio", name="4").check()
    user.get_by_label("Comment").fill("Quick and clear.")
    user.get_by_role("button", name="Submit rating").click()
    expect(user_panel).to_contain_text("4 of 5")
    expect(user_panel).to_contain_text("Quick and clear.")
    assert action_buttons(user) == set()


def test_the_user_revokes_and_restarts(open_page: Opener, console: Console) -> None:
    erin = someone()
    ws = console.workspace(erin)
    ticket = console.submit(erin, ws, title="Wrong invoice")
    page = open_page(console.token(erin), f"/tickets/{ticket['id']}")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    panel = page.get_by_role("complementary", name="Ticket")
    expect(panel).to_contain_text("Waiting for Assignment")  # asked once, nothing done
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke ticket").click()
    expect(panel).to_contain_text("Revoked")
    expect_actions(page, console, console.token(erin), ticket["id"])
    page.get_by_role("button", name="Restart").click()
    expect(panel).to_contain_text("Waiting for Assignment")


def test_filters_search_and_export(open_page: Opener, console: Console) -> None:
    frank, grace = someone(), someone()
    ws = console.workspace(frank, grace)
    bug = console.submit(frank, ws, type="bug", title="Graph legend overlaps")
    usage = console.submit(frank, ws, type="usage", title="How do I mute alerts")
    theirs = console.submit(grace, ws, type="purchase", title="Invoice for March")
    page = open_page(console.token(frank), f"/?workspace={ws}")
    table = page.locator("#ticket-table tbody")
    expect(table.get_by_role("row")).to_have_count(3)

    page.get_by_label("Type").select_option(label="Usage Issues")
    expect(table.get_by_role("row")).to_have_count(1)
    expect(table).to_contain_text("How do I mute alerts")
    page.get_by_label("Type").select_option(label="All types")
    page.get_by_label("Status").select_option(label="Closed")
    expect(table).to_contain_text("No tickets match these filters")
    page.get_by_label("Status").select_option(label="Waiting for Assignment")
    expect(table.get_by_role("row")).to_have_count(3)

    page.get_by_label("Search").fill("legend")
    expect(table.get_by_role("row")).to_have_count(1)
    expect(table).to_contain_text("Graph legend overlaps")
    page.get_by_label("Search").fill(str(theirs["number"]))
    expect(table.get_by_role("row")).to_have_count(1)
    expect(table).to_contain_text("Invoice for March")
    page.reload()  # the filters live in the address
    expect(page.get_by_label("Search")).to_have_value(str(theirs["number"]))
    expect(table.get_by_role("row")).to_have_count(1)
    page.get_by_label("Search").fill("")
    expect(table.get_by_role("row")).to_have_count(3)

    page.get_by_role("checkbox", name=f"Select ticket {bug['number']}").check()
    expect(page.get_by_text("1 selected")).to_be_visible()
    with page.expect_download() as chosen:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(Path(chosen.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == 2
    assert "Graph legend overlaps" in rows[1]

    page.get_by_role("checkbox", name=f"Select ticket {bug['number']}").uncheck()
    with page.expect_download() as whole:
        page.get_by_role("button", name="Export XLSX").click()
    assert whole.value.suggested_filename == f"tickets-{ws}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(whole.value.path()).read_bytes())).active
    assert sheet is not None
    header, *cells = list(sheet.iter_rows(values_only=True))
    titles = {row[header.index("title")] for row in cells}
    assert titles == {bug["title"], usage["title"], theirs["title"]}

    page.get_by_role("tab", name="My Tickets").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).not_to_contain_text("Invoice for March")


def test_the_handler_queues_put_the_nearest_due_first_and_mark_breaches(
    open_page: Opener, console: Console
) -> None:
    heidi = someone()
    ws = console.workspace(heidi)
    console.clock.offset = -timedelta(days=30)  # filed a month ago: both SLA clocks ran out
    try:
        late = console.submit(heidi, ws, title="Old export problem")
    finally:
        console.clock.offset = timedelta(0)
    fresh = console.submit(heidi, ws, title="New export problem")
    handler = someone("handler")
    admin = console.token(ADMIN_ID, "admin")
    status, _ = console.api(
        "POST", "/admin/handlers", admin,
        {"account_id": handler, "name": "Hal Handler", "roles": ["handler"]},
    )  # fmt: skip
    assert status == 201
    for ticket in (late, fresh):
        status, _ = console.api(
            "POST", f"/tickets/{ticket['id']}/forward", admin, {"handler_id": handler}
        )
        assert status == 200

    page = open_page(console.token(handler, "handler", name="Hal Handler"), "/handler")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Old export problem")
    expect(rows.nth(0)).to_contain_text("Breached")
    expect(rows.nth(1)).not_to_contain_text("Breached")
    page.get_by_role("link", name="Old export problem").click()
    expect(page.get_by_role("complementary", name="Ticket")).to_contain_text("Breached")
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("link", name="Handler queues").click()
    page.get_by_role("tab", name="Processing").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Old export problem")
    page.get_by_role("tab", name="Cancelled").click()
    expect(page.get_by_text("No revoked tickets.")).to_be_visible()


def test_forward_offers_the_active_handlers(open_page: Opener, console: Console) -> None:
    ivan = someone()
    ws = console.workspace(ivan)
    ticket = console.submit(ivan, ws, title="Forward me")
    admin = console.token(ADMIN_ID, "admin")
    target = someone("handler")
    console.api(
        "POST",
        "/admin/handlers",
        admin,
        {"account_id": target, "name": "Tara Target", "roles": ["handler"]},
    )
    page = open_page(admin, f"/tickets/{ticket['id']}")
    page.get_by_role("button", name="Forward").click()
    expect(page.get_by_role("alert")).to_contain_text("Handler")
    page.get_by_label("Handler").select_option(label="Tara Target")
    page.get_by_role("button", name="Forward").click()
    expect(page.get_by_role("complementary", name="Ticket")).to_contain_text("Tara Target")


def test_admins_manage_the_handler_roster(open_page: Opener, console: Console) -> None:
    page = open_page(console.token(ADMIN_ID, "admin"), "/admin/handlers")
    account = someone("handler")
    page.get_by_label("Account id").fill(account)
    page.get_by_label("Name").fill("Judy Jones")
    page.get_by_role("button", name="Add handler").click()
    row = page.get_by_role("row").filter(has_text=account)
    expect(row).to_contain_text("Active")
    page.get_by_role("button", name="Deactivate Judy Jones").click()
    expect(row).to_contain_text("Inactive")
    page.get_by_role("button", name="Activate Judy Jones").click()
    expect(row).to_contain_text("Active")
    page.get_by_role("button", name="Add handler").click()
    expect(page.get_by_role("alert")).to_contain_text("Account id")

    user = open_page(console.token(someone()), "/admin/handlers")
    expect(user.get_by_role("alert")).to_contain_text("Only admins")


def test_times_are_shown_in_the_readers_time_zone(open_page: Opener, console: Console) -> None:
    kim = someone()
    ws = console.workspace(kim)
    ticket = console.submit(kim, ws)
    page = open_page(console.token(kim), f"/tickets/{ticket['id']}")
    submitted = datetime.fromisoformat(ticket["submitted_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    shown = page.locator("dd time").first
    expect(shown).to_contain_text(f"{submitted.hour % 12 or 12}:{submitted.minute:02d}")
    assert submitted.utcoffset() != datetime.now(UTC).utcoffset()


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
