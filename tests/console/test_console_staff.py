"""The web console for the support side: queues, forwarding, the handler roster, times."""

from __future__ import annotations

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
