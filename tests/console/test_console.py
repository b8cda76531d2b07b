"""The web console in a real browser (CONTRACT.md §5), driven by its labels and names."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
from playwright.sync_api import expect

from application.plumbing import WorkerPlumbing
from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import PNG, action_buttons, expect_actions, someone


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
    expect(page.get_by_text("1 selected", exact=True)).to_be_visible()
    with page.expect_download() as chosen:
        page.get_by_role("button", name="Export 1 selected (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(chosen.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == 1
    # the cells as the screen shows them (issue 29), the codes in columns of their own
    shown = table.get_by_role("row").filter(has_text="Graph legend overlaps")
    assert rows[0]["Title"] == "Graph legend overlaps"
    for cell in ("Type", "Status", "Submitter", "Workspace"):
        expect(shown).to_contain_text(rows[0][cell])
    assert (rows[0]["Type"], rows[0]["Type code"]) == ("Bug Report", "bug")
    assert rows[0]["Status"] == "Waiting for Assignment"

    page.get_by_role("checkbox", name=f"Select ticket {bug['number']}").uncheck()
    with page.expect_download() as whole:
        page.get_by_role("button", name="Export XLSX").click()
    assert whole.value.suggested_filename.startswith(f"tickets-{ws}-")
    assert whole.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(whole.value.path()).read_bytes())).active
    assert sheet is not None
    header, *cells = list(sheet.iter_rows(values_only=True))
    titles = {row[header.index("Title")] for row in cells}
    assert titles == {bug["title"], usage["title"], theirs["title"]}

    page.get_by_role("tab", name="My Tickets").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).not_to_contain_text("Invoice for March")


def test_every_fault_of_a_form_is_listed_and_its_field_marked(
    open_page: Opener, console: Console
) -> None:
    """Issue 29: only the first of several faults was reported, and no field was marked."""
    lena = someone()
    console.workspace(lena)
    page = open_page(console.token(lena), "/")
    page.get_by_role("button", name="Submit Ticket").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Type").select_option(label="Bug Report")
    dialog.get_by_role("button", name="Submit").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Please correct these 2 fields before sending.")
    expect(alert).to_contain_text("Title: write a short title")
    expect(alert).to_contain_text("Description: describe what happened")
    expect(dialog.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("Description")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Title").fill("Charts are empty")
    dialog.get_by_role("button", name="Submit").click()
    expect(alert).to_contain_text("Please correct this field before sending.")
    expect(dialog.get_by_label("Title")).not_to_have_attribute("aria-invalid", "true")
