"""A long conversation in the console (CONTRACT.md §2.0): the latest 100 messages, and the
earlier ones on request."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone


def test_earlier_messages_show_on_request(open_page: Opener, console: Console) -> None:
    user = someone("ava")
    ticket = console.submit(user, console.workspace(user), "Ava Martin")
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    path = f"/tickets/{ticket['id']}/messages"
    assert console.api("POST", f"/tickets/{ticket['id']}/accept", admin, {})[0] == 200
    for n in range(104):
        assert console.api("POST", path, admin, {"body": f"step {n}"}, wait=False)[0] == 201
    page = open_page(console.token(user, name="Ava Martin"), f"/tickets/{ticket['id']}")
    conversation = page.get_by_role("list", name="Conversation")
    expect(conversation.get_by_text("step 103", exact=True)).to_be_visible()
    expect(conversation.get_by_text("step 4", exact=True)).to_be_visible()
    expect(conversation.get_by_text("step 3", exact=True)).to_have_count(0)
    earlier = page.get_by_role("button", name="Show earlier messages (5)")
    earlier.click()
    expect(conversation.get_by_text("step 0", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Show earlier messages")).to_have_count(0)
    # the opening description, the acknowledgement and 104 answers
    expect(conversation.locator(":scope > li.message")).to_have_count(106)
