"""A stalled database hangs nothing (CONTRACT.md §2, §2.6): ``ticketing serve`` against a
PostgreSQL of the test's own, whose processes are stopped with SIGSTOP and resumed by PID.

While the database is stalled every request answers within 5 s (503 with ``Retry-After`` where
it needs the database), ``/healthz`` at once and ``/readyz`` within 2 s; one stalled request
blocks no other; once the database is back the service recovers by itself.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import psutil
import pytest

from application.bootstrap import build_app
from application.config import Settings
from application.database import ensure_database
from tests.e2e.dev_support import Served, call, until
from workers.embedded_postgres import EmbeddedPostgres

SECRET = "stalls-secret-long-enough-for-hs256-0123456789abcdefghij"
ANSWER_WITHIN = 5.0
READY_WITHIN = 2.0


class StallableServer:
    """``ticketing serve`` with its own PostgreSQL; the processes a test stops and resumes."""

    def __init__(self, postgres: EmbeddedPostgres, served: Served) -> None:
        self.postgres, self.url, self.api = postgres, served.url, served.api

    def database_processes(self, only_postmaster: bool) -> list[psutil.Process]:
        postmaster = psutil.Process(self.postgres.pid)
        return [postmaster] if only_postmaster else [postmaster, *postmaster.children()]


@pytest.fixture
def served(tmp_path: Path, broker: str) -> Iterator[StallableServer]:
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    postgres.start()
    database_url = postgres.url("ticketing")
    ensure_database(database_url)
    settings = Settings(database_url=database_url, jwt_secret=SECRET, kafka_bootstrap=broker)
    app = build_app(settings)
    try:
        app.platform.member_joined("ws-stall", "alice", str(uuid4()))
    finally:
        app.store.close()
    env = {
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_JWT_SECRET": SECRET,
        "TICKETING_KAFKA_BOOTSTRAP": broker,
    }
    server = Served(env, tmp_path / "serve.log", "--workers", "1")
    try:
        yield StallableServer(postgres, server)
    finally:
        for proc in [*psutil.Process(postgres.pid).children(), psutil.Process(postgres.pid)]:
            # never leave a stopped server behind; a backend may have ended since it was listed
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGCONT)
        server.stop()
        postgres.stop()


def timed(request: tuple[str, str | None, dict[str, str] | None]) -> tuple[int, float, str]:
    """(status, seconds, what) of one call described as (url, token, body)."""
    url, token, body = request
    started = time.monotonic()
    status, _ = call(url, token, body, timeout=30)
    return status, time.monotonic() - started, f"{'POST' if body else 'GET'} {url}"


@pytest.mark.parametrize("only_postmaster", [False, True], ids=["whole server", "postmaster"])
def test_a_stalled_database_answers_503_within_5_seconds_and_recovers(
    served: StallableServer, only_postmaster: bool
) -> None:
    from application.tokens import issue_token

    alice = issue_token(SECRET, "alice", name="Alice")
    body = {"type": "bug", "title": "before the stall", "description": "d"}
    status, ticket = call(f"{served.api}/workspaces/ws-stall/tickets", alice, body)
    assert status == 201, ticket
    requests = [
        (f"{served.api}/tickets/{ticket['id']}", alice, None),
        (f"{served.api}/workspaces/ws-stall/tickets", alice, None),
        (f"{served.api}/workspaces/ws-stall/tickets", alice, {**body, "title": "in the stall"}),
        (f"{served.api}/me/tickets", alice, None),
    ] * 3  # more requests at once than the pool has connections

    stopped = served.database_processes(only_postmaster)
    for process in stopped:
        process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 10:  # ten seconds of traffic into the stall
            with ThreadPoolExecutor(len(requests) + 2) as pool:
                answers = pool.map(timed, requests)
                health = pool.submit(timed, (f"{served.url}/healthz", None, None))
                ready = pool.submit(timed, (f"{served.url}/readyz", None, None))
                results = list(answers)
            assert health.result()[0] == 200
            assert health.result()[1] < 1.0, "liveness touches no database"
            assert ready.result()[1] < READY_WITHIN
            for status, seconds, what in results:
                assert seconds < ANSWER_WITHIN, (what, status, seconds)
                assert status in (200, 201, 503), (what, status)
            if not only_postmaster:
                assert ready.result()[0] == 503
                assert {status for status, _, _ in results} == {503}
    finally:
        for process in stopped:
            process.send_signal(signal.SIGCONT)

    recovered = until(
        lambda: call(f"{served.api}/workspaces/ws-stall/tickets", alice, body),
        lambda result: result[0] == 201,
        timeout=30,
    )
    assert recovered[0] == 201, "the service recovers by itself"
    assert call(f"{served.api}/tickets/{ticket['id']}", alice)[0] == 200


def test_a_503_from_a_stalled_database_says_when_to_retry(served: StallableServer) -> None:
    from application.tokens import issue_token

    alice = issue_token(SECRET, "alice", name="Alice")
    stopped = served.database_processes(only_postmaster=False)
    for process in stopped:
        process.send_signal(signal.SIGSTOP)
    try:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{served.api}/me/tickets")  # noqa: S310
        request.add_header("Authorization", f"Bearer {alice}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310
        assert refused.value.code == 503
        assert refused.value.headers["Retry-After"]
        assert refused.value.headers["Content-Type"] == "application/problem+json"
    finally:
        for process in stopped:
            process.send_signal(signal.SIGCONT)
