"""Fixtures for the web console's browser tests: the service on a loopback port (real
PostgreSQL, real broker, the projection running) and Debian's Chromium driven by Playwright.

Chromium comes from the system (``/usr/bin/chromium``, or ``TICKETING_CHROMIUM``); ``make test``
installs the Debian package when it runs as root. Without it these tests are skipped, saying so.
Every page records the requests it makes: a request to any other origin is refused and fails
the test, and so does a script error in the page.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect, sync_playwright

from api.app import create_app
from api.serving import serving_app
from application.bootstrap import build_app
from application.config import Settings
from application.tickets import TicketingApp
from application.tokens import issue_token
from tests.console.asgi_server import InProcessServer
from workers.notifier import run_notifications
from workers.projector import run_projections

CHROMIUM = Path(os.environ.get("TICKETING_CHROMIUM", "/usr/bin/chromium"))
SECRET = "console-secret-long-enough-for-every-hmac-algorithm-0123456789"
ADMIN_ID = "console-admin"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000  # every wait in these tests ends by then
# assertions too: a context's default timeout bounds actions and locators, not ``expect``,
# which gave up after Playwright's own 5 s (a page booting while the in-process projection
# caught up with 105 writes in CI still showed "Loading…" then)
expect.set_options(timeout=WAIT_MS)


class ShiftedClock:
    """The system clock moved by ``offset``: tickets filed "long ago" have breached their SLA."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Console:
    """The service under test: its address, the application behind it, and helpers."""

    base: str
    app: TicketingApp
    clock: ShiftedClock
    positions: list[int] = field(default_factory=list)

    def token(self, sub: str, role: str = "user", name: str | None = None, ttl: int = 3600) -> str:
        return issue_token(SECRET, sub, role, ttl, name or sub.replace("-", " ").title())

    def workspace(self, *members: str) -> str:
        """A new workspace with these members (as the platform's MemberJoined would make it)."""
        workspace_id = f"ws-{uuid4().hex[:6]}"
        for account in members:
            self.app.platform.member_joined(workspace_id, account, str(uuid4()))
        return workspace_id

    def api(
        self, method: str, path: str, token: str, body: Any = None, wait: bool = True
    ) -> tuple[int, Any]:
        """Call the API as a client would; list calls wait for this test's last write."""
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.base}/api/v1{path}"
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if wait and self.positions:
            request.add_header("X-Ticketing-Position", str(max(self.positions)))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                if position := response.headers.get("X-Ticketing-Position"):
                    self.positions.append(int(position))
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def submit(
        self, sub: str, workspace_id: str, name: str | None = None, **body: Any
    ) -> dict[str, Any]:
        ticket = {"type": "bug", "title": "Charts are empty", "description": "Since noon.", **body}
        status, answer = self.api(
            "POST", f"/workspaces/{workspace_id}/tickets", self.token(sub, name=name), ticket
        )
        assert status == 201, answer
        return dict(answer)

    def register_handler(self, account_id: str, name: str) -> None:
        """An admin adds an active handler to the roster."""
        handler = {"account_id": account_id, "name": name, "roles": ["handler"]}
        status, answer = self.api("POST", "/admin/handlers", self.token(ADMIN_ID, "admin"), handler)
        assert status == 201, answer


@pytest.fixture(scope="package")
def console(database_url: str, broker: str) -> Iterator[Console]:
    """The whole service on 127.0.0.1: API and console, with the projection running."""
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        kafka_bootstrap=broker,
        default_assignee=ADMIN_ID,
        limit_submissions_per_minute=0,  # the limits have tests of their own
        limit_messages_per_minute=0,
        limit_upload_mib_per_hour=0,
        limit_exports_per_minute=0,
    )
    clock = ShiftedClock()
    app = build_app(settings, clock=clock)
    flask_app = create_app({"SETTINGS": settings, "TICKETING_APP": app})
    server = InProcessServer(serving_app(flask_app, settings, threads=16))
    stop = threading.Event()
    workers = [
        threading.Thread(target=run_projections, args=(database_url, stop)),
        threading.Thread(target=run_notifications, args=(settings, stop)),
    ]
    for worker in workers:
        worker.start()
    try:
        yield Console(f"http://127.0.0.1:{server.port}", app, clock)
    finally:
        server.stop()
        stop.set()
        for worker in workers:
            worker.join(30)
        app.store.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() and os.environ.get("CI"):
        pytest.fail(f"CI must run the console's browser tests, and there is no {CHROMIUM}")
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: the console's browser tests need Debian's chromium "
            "package (make test installs it when run as root; or set TICKETING_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What a page asked for and what went wrong in it."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Opener = Callable[..., Any]


@pytest.fixture
def open_page(browser: Any, console: Console) -> Iterator[Opener]:
    """``open_page(token, path="/", width=1280)`` → a Playwright page signed in with the token
    (none: signed out), in a fresh browser context in the Asia/Tokyo time zone."""
    contexts: list[Any] = []
    visits: list[Visit] = []

    def opener(
        token: str | None = None, path: str = "/", width: int = 1280, height: int = 900
    ) -> Any:
        visit = Visit()
        visits.append(visit)
        context = browser.new_context(
            viewport={"width": width, "height": height},
            timezone_id="Asia/Tokyo",
            locale="en-US",
            accept_downloads=True,
        )
        contexts.append(context)
        context.set_default_timeout(WAIT_MS)

        def guard(route: Any) -> None:
            if route.request.url.startswith(console.base):
                route.continue_()
            else:
                visit.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        if console.positions:
            # the page knows the test's last write, as the tab that made it would: its lists
            # wait for the read models to show it (else a queue opened right after two
            # forwards could list one of them and stay so: seen once in CI)
            position = max(console.positions)
            context.add_init_script(
                f"sessionStorage.getItem('ticketing.position') || "
                f"sessionStorage.setItem('ticketing.position', '{position}')"
            )
        page = context.new_page()
        page.on("pageerror", lambda error: visit.errors.append(str(error)))
        page.goto(console.base + path + (f"#token={token}" if token else ""))
        return page

    yield opener
    for context in contexts:
        context.close()
    for visit in visits:
        assert visit.outside == [], f"requests left the service's origin: {visit.outside}"
        assert visit.errors == [], f"script errors in the page: {visit.errors}"
