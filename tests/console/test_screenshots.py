"""Each main view of the console, rendered with realistic content and photographed.

The pictures go to a temporary folder, or to ``TICKETING_SCREENSHOTS`` when it is set; the
README's are made with ``TICKETING_SCREENSHOTS=docs/screenshots make console-screenshots``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone


def shoot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{name}: the picture is nearly empty"


def test_screenshots_of_every_main_view(
    open_page: Opener, console: Console, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("TICKETING_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    user = someone("ava")
    ws = console.workspace(user)
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    console.clock.offset = -timedelta(days=9)
    try:
        late = console.submit(
            user,
            ws,
            "Ava Martin",
            type="bug",
            title="Dashboard charts stay empty after upgrade",
            description="Since this morning's upgrade every chart on the Production dashboard "
            "is empty. The data explorer still shows the metrics.",
        )
    finally:
        console.clock.offset = timedelta(0)
    filed = [
        console.submit(user, ws, "Ava Martin", type=kind, title=title)
        for kind, title in (
            ("usage", "How do I silence alerts during a maintenance window?"),
            ("purchase", "Invoice for March shows the wrong plan"),
            ("feature_request", "Export dashboards as PDF"),
            ("documentation", "Log pipeline docs mention a removed field"),
        )
    ]
    sam = someone("sam")
    console.register_handler(sam, "Sam Support")
    for ticket in (late, *filed):
        console.api("POST", f"/tickets/{ticket['id']}/forward", admin, {"handler_id": sam})
    handler = console.token(sam, "handler", name="Sam Support")
    console.api("POST", f"/tickets/{late['id']}/accept", handler)
    console.api(
        "POST", f"/tickets/{late['id']}/messages", handler,
        {"body": "Thanks for the details. The upgrade reset the data source; we restored it. "
                 "Could you reload the dashboard and tell us whether the charts are back?"},
    )  # fmt: skip
    console.api("POST", f"/tickets/{filed[0]['id']}/accept", handler)
    console.api("POST", f"/tickets/{filed[1]['id']}/revoke", console.token(user))
    token = console.token(user, name="Ava Martin")

    page = open_page(token, f"/?workspace={ws}")
    expect(page.locator("#ticket-table tbody tr")).to_have_count(5)
    shoot(page, folder, "ticket-management")
    page.get_by_role("button", name="Submit Ticket").click()
    page.get_by_role("dialog").get_by_label("Type").select_option(label="Change Owner Account")
    shoot(page, folder, "submit-ticket")

    details = open_page(token, f"/tickets/{late['id']}")
    expect(details.get_by_text("we restored it")).to_be_visible()
    shoot(details, folder, "ticket-details")

    queues = open_page(handler, "/handler?queue=processing")
    expect(queues.locator("#queue-table tbody tr")).to_have_count(2)
    shoot(queues, folder, "handler-queues")
    staff = open_page(handler, f"/tickets/{late['id']}")
    expect(staff.get_by_label("Automatic reply")).to_be_visible()
    shoot(staff, folder, "ticket-details-staff")

    roster = open_page(admin, "/admin/handlers")
    expect(roster.get_by_role("heading", name="Handlers")).to_be_visible()
    shoot(roster, folder, "handlers")

    phone = open_page(token, f"/?workspace={ws}", width=390, height=844)
    expect(phone.locator("#ticket-table tbody tr")).to_have_count(5)
    shoot(phone, folder, "ticket-management-phone")
    phone_details = open_page(token, f"/tickets/{late['id']}", width=390, height=844)
    expect(phone_details.get_by_text("we restored it")).to_be_visible()
    shoot(phone_details, folder, "ticket-details-phone")

    shoot(open_page(None, "/"), folder, "sign-in")
