"""The web console for the support side: queues, forwarding, the handler roster, times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone


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
    console.register_handler(handler, "Hal Handler")
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


def test_queue_tabs_count_their_tickets_and_long_lists_say_how_much_is_shown(
    open_page: Opener, console: Console
) -> None:
    kim = someone()
    ws = console.workspace(kim)
    handler = someone("handler")
    console.register_handler(handler, "Quinn Queue")
    admin = console.token(ADMIN_ID, "admin")
    tickets = [console.submit(kim, ws, title=f"Dashboard {n} is slow") for n in range(23)]
    for ticket in tickets:
        status, _ = console.api(
            "POST", f"/tickets/{ticket['id']}/forward", admin, {"handler_id": handler}
        )
        assert status == 200
    status, _ = console.api(
        "POST", f"/tickets/{tickets[0]['id']}/accept", console.token(handler, "handler")
    )
    assert status == 200

    page = open_page(console.token(handler, "handler", name="Quinn Queue"), "/handler")
    expect(page.get_by_role("tab", name="Pending")).to_contain_text("22")
    expect(page.get_by_role("tab", name="Processing")).to_contain_text("1")
    expect(page.get_by_role("tab", name="Completed")).to_contain_text("0")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(20)
    more = page.locator(".more")
    expect(more).to_contain_text("20 of 22")
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(22)
    expect(more.locator(".shown")).to_have_text("")
    page.get_by_label("Search").fill(f"#{tickets[0]['number']}")
    expect(page.get_by_role("tab", name="Processing")).to_contain_text("1")
    expect(page.get_by_role("tab", name="Pending")).to_contain_text("0")

    member = open_page(console.token(kim), f"/?workspace={ws}")
    expect(member.locator("#ticket-table tbody tr")).to_have_count(20)
    expect(member.locator(".more")).to_contain_text("20 of 23")
    member.get_by_label("Search").fill("Dashboard 1")  # 1 and 10-19
    expect(member.locator("#ticket-table tbody tr")).to_have_count(11)
    expect(member.locator(".more .shown")).to_have_text("")


def test_forward_offers_the_active_handlers(open_page: Opener, console: Console) -> None:
    ivan = someone()
    ws = console.workspace(ivan)
    ticket = console.submit(ivan, ws, title="Forward me")
    admin = console.token(ADMIN_ID, "admin")
    target = someone("handler")
    console.register_handler(target, "Tara Target")
    page = open_page(admin, f"/tickets/{ticket['id']}")
    page.get_by_role("button", name="Forward").click()
    expect(page.get_by_role("alert")).to_contain_text("Handler")
    page.get_by_label("Handler").select_option(label="Tara Target")
    page.get_by_role("button", name="Forward").click()
    expect(page.get_by_role("complementary", name="Ticket")).to_contain_text("Tara Target")


def test_admins_manage_the_handler_roster(open_page: Opener, console: Console) -> None:
    admin = console.token(ADMIN_ID, "admin")
    # the roster may hold handlers named anything (the fuzzer adds some), and their buttons
    # are labelled "Deactivate <name>": the form's fields are found by their exact labels
    status, _ = console.api("POST", "/admin/handlers", admin,
                            {"account_id": someone("named"), "name": "name"})  # fmt: skip
    assert status == 201
    page = open_page(admin, "/admin/handlers")
    account = someone("handler")
    page.get_by_label("Account id", exact=True).fill(account)
    page.get_by_label("Name", exact=True).fill("Judy Jones")
    page.get_by_label("handler", exact=True).check()
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


def test_an_admin_finds_a_ticket_of_another_workspace_by_its_number(
    open_page: Opener, console: Console
) -> None:
    kim = someone()
    ws = console.workspace(kim)
    wanted = console.submit(kim, ws, title="Invoices arrive twice")
    number = wanted["number"]
    for n in range(3):  # newer titles holding the number: "5" alone would list them first
        console.submit(kim, ws, title=f"Question {number} part {n}")
    page = open_page(console.token(ADMIN_ID, "admin"), "/")
    expect(page.get_by_label("Workspace")).to_have_value("*")
    expect(page.get_by_label("Workspace").locator("option").first).to_have_text("All workspaces")
    page.get_by_label("Search").fill(f"#{number}")
    page.get_by_label("Search").press("Enter")
    rows = page.locator("#ticket-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Invoices arrive twice")
    page.get_by_label("Search").fill(str(number))
    page.get_by_label("Search").press("Enter")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Invoices arrive twice")
    expect(page.get_by_label("Assignee")).to_be_visible()
    page.get_by_role("link", name="Invoices arrive twice").click()
    expect(page.get_by_role("heading", name="Invoices arrive twice")).to_be_visible()


def test_handlers_search_their_queues(open_page: Opener, console: Console) -> None:
    lee = someone()
    ws = console.workspace(lee)
    handler = someone("handler")
    console.register_handler(handler, "Quinn Queue")
    admin = console.token(ADMIN_ID, "admin")
    for title in ("Billing page blank", "Login loops"):
        ticket = console.submit(lee, ws, title=title)
        status, _ = console.api(
            "POST", f"/tickets/{ticket['id']}/forward", admin, {"handler_id": handler}
        )
        assert status == 200
    page = open_page(console.token(handler, "handler", name="Quinn Queue"), "/handler")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("billing")
    page.get_by_label("Search").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Billing page blank")
    expect(page).to_have_url(re.compile(r"q=billing"))


def test_two_handlers_added_in_a_row_only_the_first_made_admin(
    open_page: Opener, console: Console
) -> None:
    """Issue 29: the roles stayed checked after an add, and the next two became admins."""
    page = open_page(console.token(ADMIN_ID, "admin"), "/admin/handlers")
    first, second = someone("boss"), someone("helper")
    page.get_by_label("Account id", exact=True).fill(first)
    page.get_by_label("Name", exact=True).fill("Ada Admin")
    page.get_by_label("handler", exact=True).check()
    page.get_by_label("admin", exact=True).check()
    page.get_by_role("button", name="Add handler").click()
    dialog = page.get_by_role("dialog", name="Make Ada Admin an admin?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Make admin").click()
    expect(page.get_by_role("row").filter(has_text=first)).to_contain_text("admin, handler")
    expect(page.get_by_label("admin", exact=True)).not_to_be_checked()
    expect(page.get_by_label("handler", exact=True)).not_to_be_checked()
    page.get_by_label("Account id", exact=True).fill(second)
    page.get_by_label("Name", exact=True).fill("Hugo Helper")
    page.get_by_label("handler", exact=True).check()
    page.get_by_role("button", name="Add handler").click()
    row = page.get_by_role("row").filter(has_text=second)
    expect(row).to_contain_text("handler")
    expect(row).not_to_contain_text("admin")
    # roles change per row; making an admin asks again, and Cancel keeps them as they were
    row.get_by_role("button", name="Edit roles of Hugo Helper").click()
    row.get_by_label("admin").check()
    row.get_by_role("button", name="Save roles").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    row.get_by_role("button", name="Cancel").click()
    expect(row).not_to_contain_text("admin")
    row.get_by_role("button", name="Edit roles of Hugo Helper").click()
    row.get_by_label("admin").check()
    row.get_by_role("button", name="Save roles").click()
    page.get_by_role("dialog").get_by_role("button", name="Make admin").click()
    expect(row).to_contain_text("admin, handler")
