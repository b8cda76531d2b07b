"""Reports in the console (CONTRACT.md §8): the numbers on the page are the API's, every chart
has its table, the CSV downloads, and nobody but admins and auditors gets one."""

from __future__ import annotations

import csv
import io
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import ADMIN_ID, Console, Opener
from tests.console.steps import someone

CHARTS = ("Volume", "First response time", "Resolution time", "SLA met", "Customer satisfaction")


def busy_workspace(console: Console, tickets: int = 6) -> str:
    """A workspace whose tickets were answered, closed and rated in several ways."""
    user = someone("ava")
    workspace = console.workspace(user)
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    customer = console.token(user, name="Ava Martin")
    for n in range(tickets):
        ticket = console.submit(user, workspace, "Ava Martin", title=f"Report ticket {n}")
        path = f"/tickets/{ticket['id']}"
        if n % 3 == 2:
            continue  # waiting for assignment: backlog
        assert console.api("POST", f"{path}/accept", admin, {})[0] == 200
        console.api("POST", f"{path}/messages", admin, {"body": "Fixed on our side."})
        if n % 2 == 0:
            assert console.api("POST", f"{path}/complete", admin, {})[0] == 200
            console.api("POST", f"{path}/rating", customer, {"score": 3 + n % 3})
    return workspace


def span() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return (today - timedelta(days=3)).isoformat(), (today + timedelta(days=1)).isoformat()


def report_page(page: Page) -> None:
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(page.locator(".uplot")).to_have_count(len(CHARTS))


def test_the_page_shows_the_apis_numbers_with_a_table_for_every_chart(
    open_page: Opener, console: Console
) -> None:
    workspace = busy_workspace(console)
    first, last = span()
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    query = f"from={first}&to={last}&interval=day&workspace_id={workspace}"
    status, report = console.api("GET", f"/admin/reports?{query}", admin)
    assert status == 200
    assert report["totals"]["submitted"] == 6
    page = open_page(admin, f"/admin/reports?{query}")
    report_page(page)
    totals = page.get_by_role("region", name="Totals")
    expect(totals.locator(".tile").filter(has_text="Submitted")).to_contain_text("6")
    expect(totals.locator(".tile").filter(has_text="Closed")).to_contain_text(
        str(report["totals"]["closed"]["total"])
    )
    for title in CHARTS:
        figure = page.get_by_role("figure", name=title)
        expect(figure.get_by_role("img")).to_be_visible()
        figure.get_by_text("Numbers").click()
        expect(figure.get_by_role("table", name=f"{title}, per period")).to_be_visible()
    volume = page.get_by_role("table", name="Volume, per period")
    rows = volume.locator("tbody tr")
    expect(rows).to_have_count(len(report["series"]))
    for index, point in enumerate(report["series"]):
        cells = rows.nth(index).locator("th, td").all_inner_texts()
        assert cells == [
            point["period_start"],
            str(point["submitted"]),
            str(point["closed"]["total"]),
        ]
    csat = page.get_by_role("table", name="Customer satisfaction, per period")
    averages = [row.split("\t")[1] for row in csat.locator("tbody tr").all_inner_texts()]
    assert averages == [
        "—" if p["csat"]["average"] is None else _number(p["csat"]["average"])
        for p in report["series"]
    ]
    people = page.locator("#by-assignee tbody tr")
    expect(people).to_have_count(len(report["by_assignee"]))
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(downloaded.value.path()).read_text()
    [total] = [row for row in csv.DictReader(io.StringIO(text)) if row["scope"] == "total"]
    assert total["submitted"] == "6"


def _number(value: Any) -> str:
    """As JavaScript's String() writes a number."""
    return str(int(value)) if float(value).is_integer() else str(value)


def test_changing_the_controls_keeps_them_in_the_address(
    open_page: Opener, console: Console
) -> None:
    workspace = busy_workspace(console, tickets=2)
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    page = open_page(admin, "/admin/reports")
    report_page(page)
    first, last = span()
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("To", exact=True).fill(last)
    page.get_by_label("Interval").select_option("week")
    page.get_by_label("Workspace").fill(workspace)
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_role("region", name="Totals").locator(".tile").first).to_contain_text("2")
    assert f"workspace_id={workspace}" in page.url
    assert "interval=week" in page.url
    page.reload()
    expect(page.get_by_label("Workspace")).to_have_value(workspace)
    expect(page.get_by_label("Interval")).to_have_value("week")


def test_reports_are_for_admins_and_auditors(open_page: Opener, console: Console) -> None:
    page = open_page(console.token(someone("hank"), "handler"), "/admin/reports")
    expect(page.get_by_role("alert")).to_contain_text("Reports are for admins and auditors.")
    auditor = open_page(console.token(someone("audrey"), "auditor"), "/admin/reports")
    report_page(auditor)


def four_weeks(console: Console) -> str:
    """A workspace with four weeks of support: tickets every day, answered after minutes to
    hours by the admin or Sam, most completed after a day or two, many rated."""
    chance = random.Random(7)
    user, sam = someone("ava"), someone("sam")
    console.register_handler(sam, "Sam Support")
    workspace = console.workspace(user)
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    handler = console.token(sam, "handler", name="Sam Support")
    customer = console.token(user, name="Ava Martin")
    try:
        for day in range(27, -1, -1):
            for n in range(1 + chance.randrange(4)):
                console.clock.offset = -timedelta(days=day, hours=chance.uniform(0, 6))
                ticket = console.submit(user, workspace, "Ava Martin", title=f"Day {day} #{n}")
                path = f"/tickets/{ticket['id']}"
                answerer = admin
                if chance.random() < 0.5:
                    console.api("POST", f"{path}/forward", admin, {"handler_id": sam})
                    answerer = handler
                console.clock.offset += timedelta(hours=chance.expovariate(1 / 5))
                if console.clock.offset > timedelta(0) or chance.random() < 0.1:
                    continue
                console.api("POST", f"{path}/accept", answerer, {})
                console.api("POST", f"{path}/messages", answerer, {"body": "On it."})
                console.clock.offset += timedelta(hours=chance.expovariate(1 / 30))
                if console.clock.offset > timedelta(0) or chance.random() < 0.2:
                    continue
                console.api("POST", f"{path}/complete", answerer, {})
                if chance.random() < 0.7:
                    score = chance.choice([3, 4, 4, 5, 5, 5])
                    console.api("POST", f"{path}/rating", customer, {"score": score})
    finally:
        console.clock.offset = timedelta(0)
    return workspace


def test_screenshots_of_the_reports(open_page: Opener, console: Console, tmp_path: Path) -> None:
    folder = Path(os.environ.get("TICKETING_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    workspace = four_weeks(console)
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=27)).isoformat(), today.isoformat()
    admin = console.token(ADMIN_ID, "admin", name="Ada Admin")
    query = f"from={first}&to={last}&interval=day&workspace_id={workspace}"
    assert console.api("GET", f"/admin/reports?{query}", admin)[0] == 200  # caught up
    for width, name in ((1280, "reports"), (390, "reports-phone")):
        page = open_page(admin, f"/admin/reports?{query}", width=width, height=900)
        report_page(page)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        assert (folder / f"{name}.png").stat().st_size > 10_000
        width_used = page.evaluate("document.documentElement.scrollWidth")
        assert width_used <= width, f"{name}: scrolls sideways ({width_used} px)"
