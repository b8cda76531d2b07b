"""The console tells people what happened and shows it live (CONTRACT.md §6.4): two pages
open at once, a handler's and the customer's, and nobody reloads."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone

LIVE_MS = 2_000  # §6.4: a new message or status appears within 2 s


def accepted_ticket(console: Console, user: str) -> tuple[dict[str, object], str]:
    """A ticket of ``user``'s, accepted by the admin; and the admin's token."""
    ticket = console.submit(user, console.workspace(user), "Ava Martin")
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    status, _ = console.api("POST", f"/tickets/{ticket['id']}/accept", admin, {})
    assert status == 200
    return ticket, admin


def bell(page: Page) -> Locator:
    return page.get_by_role("button", name="Notifications")


def reply(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_each_side_sees_the_others_answer_without_a_reload_and_keeps_its_draft(
    open_page: Opener, console: Console
) -> None:
    user, sam = someone("ava"), someone("sam")
    ticket, admin = accepted_ticket(console, user)
    console.register_handler(sam, "Sam Support")
    forwarded = {"handler_id": sam}
    assert console.api("POST", f"/tickets/{ticket['id']}/forward", admin, forwarded)[0] == 200
    path = f"/tickets/{ticket['id']}"
    customer = open_page(console.token(user, name="Ava Martin"), path)
    handler = open_page(console.token(sam, "handler", name="Sam Support"), path)
    expect(customer.get_by_role("heading", level=1)).to_contain_text(str(ticket["title"]))
    expect(handler.get_by_role("heading", level=1)).to_contain_text(str(ticket["title"]))
    customer.get_by_label("Message").fill("Half a thought that must")

    reply(handler, "We found a slow consumer; fixed now.")
    conversation = customer.get_by_role("list", name="Conversation")
    expect(conversation.get_by_text("We found a slow consumer; fixed now.")).to_be_visible(
        timeout=LIVE_MS
    )
    expect(customer.locator(".facts")).to_contain_text("Feedback Provided", timeout=LIVE_MS)
    expect(customer.get_by_label("Message")).to_have_value("Half a thought that must")
    expect(bell(customer)).to_have_accessible_name("Notifications, 1 unread", timeout=LIVE_MS)

    customer.get_by_label("Message").press("End")
    customer.get_by_label("Message").type(" survive.")
    customer.get_by_role("button", name="Send").click()
    expect(
        handler.get_by_role("list", name="Conversation").get_by_text(
            "Half a thought that must survive."
        )
    ).to_be_visible(timeout=LIVE_MS)
    expect(handler.locator(".facts")).to_contain_text("Waiting for Feedback", timeout=LIVE_MS)
    # the forward, then the customer's answer
    expect(bell(handler)).to_have_accessible_name("Notifications, 2 unread", timeout=LIVE_MS)


def test_the_list_of_notifications_opens_the_ticket_and_marks_it_read(
    open_page: Opener, console: Console
) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    customer = open_page(console.token(user, name="Ava Martin"))
    expect(bell(customer)).to_have_accessible_name("Notifications")
    for text in ("Which browser do you use?", "Thanks, we can see it too."):
        status, _ = console.api("POST", f"/tickets/{ticket['id']}/messages", admin, {"body": text})
        assert status == 201
    expect(bell(customer)).to_have_accessible_name("Notifications, 2 unread", timeout=LIVE_MS)
    bell(customer).click()
    items = customer.get_by_role("region", name="Notifications").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Thanks, we can see it too.")  # newest first
    expect(items.first).to_contain_text("Support answered your ticket")
    items.first.get_by_role("link").click()
    expect(customer).to_have_url(f"{console.base}/tickets/{ticket['id']}")
    expect(bell(customer)).to_have_accessible_name("Notifications, 1 unread")
    bell(customer).click()
    customer.get_by_role("button", name="Mark all as read").click()
    expect(bell(customer)).to_have_accessible_name("Notifications")
    status, inbox = console.api("GET", "/me/notifications?unread=true", console.token(user))
    assert (status, inbox["unread_count"]) == (200, 0)


def test_staff_see_who_else_is_on_the_ticket_and_the_customer_never_does(
    open_page: Opener, console: Console
) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    path = f"/tickets/{ticket['id']}"
    lead = open_page(admin, path)
    auditor_id = someone("aud")
    colleague = open_page(console.token(auditor_id, "auditor", name="Olga Audit"), path)
    customer = open_page(console.token(user, name="Ava Martin"), path)
    expect(lead.get_by_role("status").filter(has_text="Olga Audit is viewing")).to_be_visible(
        timeout=LIVE_MS
    )
    lead.get_by_label("Message").fill("Let me check the")
    expect(colleague.get_by_role("status").filter(has_text="Ada Admin is replying")).to_be_visible(
        timeout=LIVE_MS
    )
    lead.get_by_label("Message").fill("")
    expect(colleague.get_by_role("status").filter(has_text="Ada Admin is viewing")).to_be_visible(
        timeout=LIVE_MS
    )
    lead.get_by_role("link", name="Ticket Management").first.click()
    expect(colleague.locator(".presence")).to_be_hidden(timeout=LIVE_MS)
    expect(customer.locator(".presence")).to_have_count(0)
    expect(customer.get_by_text("is viewing")).to_have_count(0)


def test_a_list_offers_new_tickets_instead_of_jumping(open_page: Opener, console: Console) -> None:
    first, second = someone("ava"), someone("bo")
    ws = console.workspace(first, second)
    console.submit(first, ws, "Ava Martin", title="The first one")
    page = open_page(console.token(first, name="Ava Martin"), f"/?workspace={ws}")
    rows = page.locator("#ticket-table tbody tr")
    expect(rows).to_have_count(1)
    console.submit(second, ws, "Bo Chen", title="A colleague's ticket")
    news = page.get_by_role("status").filter(has_text="new or changed")
    expect(news).to_have_text("1 new or changed ticket Show", timeout=LIVE_MS)
    expect(rows).to_have_count(1)  # nothing moved under the reader
    news.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)
    expect(news).to_be_hidden()


def test_a_lost_stream_says_so_and_comes_back_by_itself(
    open_page: Opener, console: Console
) -> None:
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    page = open_page(None, "/")
    refused = "**/api/v1/me/stream**"
    page.context.route(
        refused,
        lambda route: route.fulfill(
            status=503,
            content_type="application/problem+json",
            headers={"Retry-After": "1"},
            body='{"type": "about:blank", "title": "Service Unavailable", "status": 503, '
            '"detail": "the database is unreachable"}',
        ),
    )
    page.goto(f"{console.base}/tickets/{ticket['id']}#token={console.token(user, name='Ava')}")
    banner = page.get_by_role("status").filter(has_text="Live updates are away")
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(ticket["title"]))
    expect(banner).to_be_visible()
    console.api("POST", f"/tickets/{ticket['id']}/messages", admin, {"body": "While you were away"})
    page.context.unroute(refused)
    expect(banner).to_be_hidden(timeout=20_000)
    conversation = page.get_by_role("list", name="Conversation")
    expect(conversation.get_by_text("While you were away")).to_be_visible(timeout=LIVE_MS)


def test_notification_settings_keep_what_was_chosen(open_page: Opener, console: Console) -> None:
    user = someone("ava")
    page = open_page(console.token(user, name="Ava Martin"), "/settings/notifications")
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    closing = page.get_by_label("Your ticket closes soon without an answer")
    expect(closing).to_be_checked()
    closing.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Your ticket closes soon without an answer")).not_to_be_checked()
    status, preferences = console.api("GET", "/me/notification-preferences", console.token(user))
    assert status == 200
    assert preferences["kinds"]["closing_soon"] is False
    assert preferences["kinds"]["handler_replied"] is True


def test_screenshots_of_the_notifications(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("TICKETING_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    user = someone("ava")
    ticket, admin = accepted_ticket(console, user)
    for text in (
        "Which browser and version do you use? A screenshot of the empty chart would help.",
        "We found a slow consumer in the metrics pipeline and restarted it. Charts should fill "
        "again within a few minutes.",
    ):
        console.api("POST", f"/tickets/{ticket['id']}/messages", admin, {"body": text})
    page = open_page(console.token(user, name="Ava Martin"), f"/tickets/{ticket['id']}")
    expect(bell(page)).to_have_accessible_name("Notifications, 2 unread", timeout=LIVE_MS)
    bell(page).click()
    expect(page.get_by_role("region", name="Notifications").get_by_role("listitem")).to_have_count(
        2
    )
    page.screenshot(path=str(folder / "notifications.png"))
    settings = open_page(console.token(user, name="Ava Martin"), "/settings/notifications")
    expect(settings.get_by_role("button", name="Save")).to_be_visible()
    settings.screenshot(path=str(folder / "notification-settings.png"))
    for name in ("notifications", "notification-settings"):
        assert (folder / f"{name}.png").stat().st_size > 10_000
