"""One account cannot take the API from everybody (issue 42): ``ticketing serve`` as a
subprocess with 2 request threads, an account that sends 10 requests at once that wait on a
position the read models have not reached (no worker runs), and another account whose requests
are answered meanwhile; a position beyond the store's head is refused at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.bootstrap import build_app
from application.config import Settings
from application.tokens import issue_token
from tests.e2e.dev_support import Served, call, serving
from tests.people import submit, user, workspace_with

SECRET = "flood-secret-long-enough-for-hs256-0123456789abcdef0123"
WAIT = 5  # seconds the served API waits for a position (READ_YOUR_WRITES_TIMEOUT)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker: str
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving(
        folder,
        database_url,
        broker,
        SECRET,
        1,
        TICKETING_WEB_THREADS="2",
        TICKETING_REQUESTS_PER_ACCOUNT="2",
        TICKETING_REQUESTS_WAITING_PER_ACCOUNT="2",
    ) as server:
        yield server


def unprojected_position(database_url: str) -> int:
    """A position the store has and the read models do not (no worker projects them here)."""
    app = build_app(Settings(database_url=database_url, jwt_secret=SECRET))
    try:
        alice = user()
        return submit(app, alice, workspace_with(app, alice)).position
    finally:
        app.store.close()


def test_a_flood_of_waiting_requests_holds_no_thread_and_is_capped(
    served: Served, database_url: str
) -> None:
    position = unprojected_position(database_url)
    flooder, other = issue_token(SECRET, "flooder", "user"), issue_token(SECRET, "other", "user")
    url = f"{served.url}/api/v1/me/tickets"
    waiting = {"X-Ticketing-Position": str(position)}
    with ThreadPoolExecutor(10) as pool:
        started = time.monotonic()
        flood = [pool.submit(call, url, flooder, None, waiting, 30) for _ in range(10)]
        time.sleep(0.5)  # the flood has arrived and waits
        answered = []
        for _ in range(10):
            began = time.monotonic()
            status, _ = call(url, other, timeout=10)
            answered.append((status, time.monotonic() - began))
        statuses = [future.result()[0] for future in flood]
    assert all(status == 200 for status, _ in answered)
    # the flood's waits are on the event loop: the other account is not queued behind them
    assert max(seconds for _, seconds in answered) < 1.0, answered
    assert time.monotonic() - started < WAIT + 5
    assert statuses.count(429) == 10 - 2 - 2  # beyond two running and two waiting: at once
    assert statuses.count(200) == 2  # waited for the position, served stale
    assert statuses.count(503) == 2  # no turn within the request's deadline


def test_a_position_beyond_the_store_is_refused_at_once(served: Served) -> None:
    token = issue_token(SECRET, "prober", "user")
    began = time.monotonic()
    status, body = call(
        f"{served.url}/api/v1/me/tickets", token, None, {"X-Ticketing-Position": "999999999"}
    )
    assert status == 400, body
    assert time.monotonic() - began < 1.0
