"""Staff notes and canned replies in the console (CONTRACT.md §7): a note looks nothing like a
reply and never reaches the customer's page; a canned reply is found and inserted with the
keyboard; admins keep the shared ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone
from tests.console.test_console_live import LIVE_MS, accepted_ticket

REPLIES = "/admin/canned-replies"


def conversation(page: Page) -> Any:
    return page.get_by_role("list", name="Conversation")


def test_a_note_stays_with_staff_and_a_reply_goes_to_the_customer_which_was_chosen(
    open_page: Opener, console: Console
) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    path = f"/tickets/{ticket['id']}"
    customer = open_page(console.token(user, name="Ava Martin"), path)
    staff = open_page(admin, path)
    expect(staff.get_by_label("Message")).to_be_visible()
    expect(staff.get_by_role("button", name="Send")).to_be_visible()

    staff.get_by_label("Internal note").check()
    expect(staff.get_by_label("Note", exact=True)).to_be_visible()
    expect(staff.get_by_text("Only support staff see notes")).to_be_visible()
    expect(staff.get_by_role("button", name="Send")).to_have_count(0)
    expect(staff.get_by_label("Automatic reply")).to_be_hidden()
    staff.get_by_label("Note", exact=True).fill("Their admin paused the data source.")
    staff.get_by_role("button", name="Add note").click()
    note = conversation(staff).locator(".message.note")
    expect(note).to_contain_text("Their admin paused the data source.")
    expect(note).to_contain_text("Internal note · staff only")
    # still a note after the note: the mode stays what the person chose
    expect(staff.get_by_role("button", name="Add note")).to_be_visible()

    staff.get_by_label("Reply to customer").check()
    staff.get_by_label("Message").fill("Could you check the data source settings?")
    staff.get_by_role("button", name="Send").click()
    expect(conversation(customer).get_by_text("Could you check the data source")).to_be_visible(
        timeout=LIVE_MS
    )
    status, details = console.api("GET", path, admin)
    assert status == 200
    assert [n["body"] for n in details["notes"]] == ["Their admin paused the data source."]
    assert "Could you check the data source settings?" in [m["body"] for m in details["messages"]]
    assert "Their admin paused" not in str(details["messages"])
    # the customer's page, live all along, never showed the note, nor anything to switch to it
    expect(conversation(customer).get_by_text("Their admin paused")).to_have_count(0)
    expect(customer.get_by_label("Internal note")).to_have_count(0)
    expect(customer.locator(".message.note")).to_have_count(0)


def test_a_closed_ticket_takes_notes_only(open_page: Opener, console: Console) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    assert console.api("POST", f"/tickets/{ticket['id']}/complete", admin, {})[0] == 200
    page = open_page(admin, f"/tickets/{ticket['id']}")
    expect(page.get_by_text("Staff can still add internal notes.")).to_be_visible()
    expect(page.get_by_label("Reply to customer")).to_have_count(0)
    page.get_by_label("Note", exact=True).fill("Refund sent on the 3rd.")
    page.get_by_role("button", name="Add note").click()
    expect(conversation(page).locator(".message.note")).to_contain_text("Refund sent on the 3rd.")


def test_insert_reply_finds_a_canned_reply_by_title_with_the_keyboard(
    open_page: Opener, console: Console
) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    marker = someone("inv")
    for title, body in (
        (f"Cache {marker}", "Please clear your cache, {{submitter.name}}."),
        (f"Invoice address {marker}", "Hello {{submitter.name}}, for ticket #{{ticket.number}} "
         "send us the invoice address. <b>{{handler.name}}</b>"),
    ):  # fmt: skip
        status, _ = console.api(
            "POST", REPLIES, admin, {"title": title, "body": body, "shared": True}
        )
        assert status == 201
    page = open_page(admin, f"/tickets/{ticket['id']}")
    message = page.get_by_label("Message")
    message.fill("Thanks! ")
    page.get_by_role("button", name="Insert reply").focus()
    page.keyboard.press("Enter")
    search = page.get_by_label("Search canned replies")
    expect(search).to_be_focused()
    search.type(marker)
    options = page.get_by_role("listbox", name="Canned replies").get_by_role("option")
    expect(options).to_have_count(2)
    page.keyboard.press("ArrowDown")
    expect(options.filter(has_text=f"Invoice address {marker}")).to_have_attribute(
        "aria-selected", "true"
    )
    page.keyboard.press("Enter")
    expect(message).to_have_value(
        f"Thanks! Hello Ava Martin, for ticket #{ticket['number']} send us the invoice address. "
        "<b>Ada Admin</b>"
    )
    expect(message).to_be_focused()
    expect(search).to_be_hidden()
    page.get_by_role("button", name="Insert reply").click()
    page.get_by_label("Search canned replies").press("Escape")
    expect(page.get_by_role("button", name="Insert reply")).to_be_focused()


def test_admins_keep_canned_replies_and_an_unknown_placeholder_is_named(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    page = open_page(admin, REPLIES)
    expect(page.get_by_role("heading", name="Canned replies", level=1)).to_be_visible()
    title = f"Change owner form {someone('t')}"
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body").fill("Dear {{customer}}, fill in the form.")
    page.get_by_label("Shared with every handler").check()
    page.get_by_role("button", name="Add reply").click()
    expect(page.get_by_role("alert")).to_contain_text("Body")
    expect(page.get_by_role("alert")).to_contain_text("{{customer}}")
    page.get_by_label("Body").fill("Dear {{submitter.name}}, fill in the form attached.")
    page.get_by_role("button", name="Add reply").click()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("Shared")
    row.get_by_role("button", name=f"Edit {title}").click()
    page.get_by_label("Title").fill(f"{title} v2")
    page.get_by_role("button", name="Save changes").click()
    row = page.get_by_role("row").filter(has_text=f"{title} v2")
    expect(row).to_be_visible()
    row.get_by_role("button", name=f"Delete {title} v2").click()
    expect(page.get_by_role("row").filter(has_text=title)).to_have_count(0)
    status, listed = console.api("GET", REPLIES, admin)
    assert status == 200
    assert title not in str(listed)


def test_screenshots_of_notes_and_canned_replies(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("TICKETING_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    path = f"/tickets/{ticket['id']}"
    console.api("POST", f"{path}/messages", admin, {"body": "Which browser do you use?"})
    customer = console.token(user, name="Ava Martin")
    console.api("POST", f"{path}/messages", customer, {"body": "Firefox 133."})
    console.api(
        "POST", f"{path}/notes", admin,
        {"body": "Same symptom as #1042: the upgrade reset their data source. Ask Sam before "
                 "restoring it, he has the runbook."},
    )  # fmt: skip
    for title, body, shared in (
        ("Clear the browser cache", "Hello {{submitter.name}}, please clear your browser's "
         "cache and reload. If ticket #{{ticket.number}} persists, reply here.", True),
        ("Change Owner Account form", "Dear {{submitter.name}}, please fill in, seal and "
         "attach the application form.", True),
        ("Invoice address", "Please send us the invoice address for {{ticket.title}}.", False),
    ):  # fmt: skip
        console.api("POST", REPLIES, admin, {"title": title, "body": body, "shared": shared})
    page = open_page(admin, path)
    page.get_by_label("Internal note").check()
    page.get_by_label("Note", exact=True).fill("Runbook step 3 done; waiting on their admin.")
    page.screenshot(path=str(folder / "staff-note.png"), full_page=True)
    page.get_by_label("Reply to customer").check()
    page.get_by_role("button", name="Insert reply").click()
    page.get_by_label("Search canned replies").type("c")
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    page.screenshot(path=str(folder / "insert-reply.png"), full_page=True)
    library = open_page(admin, REPLIES)
    expect(library.get_by_role("row").filter(has_text="Invoice address").first).to_be_visible()
    library.screenshot(path=str(folder / "canned-replies.png"), full_page=True)
    phone = open_page(admin, path, width=390, height=844)
    expect(phone.locator(".message.note")).to_be_visible()
    phone.get_by_label("Internal note").check()
    phone.screenshot(path=str(folder / "staff-note-phone.png"), full_page=True)
    for name in ("staff-note", "insert-reply", "canned-replies", "staff-note-phone"):
        assert (folder / f"{name}.png").stat().st_size > 10_000
