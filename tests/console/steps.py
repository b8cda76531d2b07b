"""Steps the console's browser tests share."""

from __future__ import annotations

from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.console.conftest import Console

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
