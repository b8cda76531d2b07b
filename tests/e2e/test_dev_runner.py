"""``ticketing dev`` as a user runs it: its settings, restarts on the same data folder, and
supervision of what it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.e2e.dev_support import Dev, call, error_lines, kill, until

SECRET = "a-secret-of-this-platform-long-enough-for-hs256-0123456789"


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    instance = Dev(tmp_path / "var")
    yield instance
    instance.kill()


RECOVERY = 180.0  # seconds a killed PostgreSQL may take to take connections again


def submit(dev: Dev, token: str, workspace_id: str, title: str = "e2e") -> tuple[int, dict]:  # type: ignore[type-arg]
    body = {"type": "bug", "title": title, "description": "through Kafka and HTTP"}
    return until(
        lambda: call(f"{dev.api}/workspaces/{workspace_id}/tickets", token, body),
        lambda result: result[0] == 201,
    )


def stored_ticket_events(dev: Dev, ticket_ids: list[str]) -> int:
    """How many events the store holds for these tickets (their whole histories)."""
    auditor = dev.token("auditor", "auditor")
    total = 0
    for ticket_id in ticket_ids:
        status, history = call(f"{dev.api}/tickets/{ticket_id}/history", auditor)
        assert status == 200, history
        total += len(history)
    return total


def published(dev: Dev, count: int) -> set[str]:
    """The distinct event ids on tickets.events (duplicates would repeat an id)."""
    return {event["event_id"] for event in dev.ticket_events(count)}


def test_the_environment_wins_over_what_dev_chooses_or_wrote(tmp_path: Path) -> None:
    env = {"TICKETING_JWT_SECRET": SECRET, "TICKETING_DEFAULT_ASSIGNEE": "support-lead"}
    dev = Dev(tmp_path / "var", env)
    dev.start()
    try:
        assert dev.settings["TICKETING_JWT_SECRET"] == SECRET
        assert dev.settings["TICKETING_DEFAULT_ASSIGNEE"] == "support-lead"
        printed = jwt.decode(dev.admin, SECRET, algorithms=["HS256"])
        assert (printed["sub"], printed["role"]) == ("support-lead", "admin")
        dev.emit("MemberJoined", workspace_id="ws-env", account_id="alice")
        status, ticket = submit(dev, dev.token("alice"), "ws-env")
        assert status == 201, ticket
        assert ticket["assignee"]["account_id"] == "support-lead"
    finally:
        assert dev.stop() == 0

    # without the variables, the instance keeps what it had: tokens stay valid
    dev.env = {k: v for k, v in dev.env.items() if k not in env}
    dev.start()
    try:
        assert call(f"{dev.api}/admin/handlers", dev.admin)[0] == 200
        assert dev.settings["TICKETING_DEFAULT_ASSIGNEE"] == "support-lead"
    finally:
        assert dev.stop() == 0

    # a new secret in the environment wins over the one written before
    dev.env["TICKETING_JWT_SECRET"] = SECRET[::-1]
    dev.start()
    try:
        assert call(f"{dev.api}/admin/handlers", dev.admin)[0] == 200
        old = jwt.encode({"sub": "support-lead", "role": "admin", "exp": time.time() + 60}, SECRET)
        assert call(f"{dev.api}/admin/handlers", old)[0] == 401
    finally:
        assert dev.stop() == 0


def test_a_restart_loses_no_event_and_skips_no_platform_event(dev: Dev) -> None:
    dev.start()
    try:
        dev.emit("MemberJoined", workspace_id="ws-restart", account_id="alice")
        alice = dev.token("alice")
        tickets = [submit(dev, alice, "ws-restart", f"before {n}")[1]["id"] for n in range(12)]
        stored = stored_ticket_events(dev, tickets)
        assert len(published(dev, stored)) == stored
    finally:
        assert dev.stop() == 0

    dev.start()
    try:
        # emitted after the restart: applied, not skipped past
        dev.emit("MemberJoined", workspace_id="ws-restart", account_id="bob")
        status, ticket = submit(dev, dev.token("bob"), "ws-restart", "after")
        assert status == 201, ticket
        tickets.append(ticket["id"])
        stored = stored_ticket_events(dev, tickets)
        assert len(published(dev, stored)) == stored, "every stored event is on tickets.events"
    finally:
        assert dev.stop() == 0

    # a broker whose storage is gone starts empty: everything is published again
    shutil.rmtree(dev.data_dir / "broker")
    dev.start()
    try:
        assert "the broker's storage is new" in dev.output()
        stored = stored_ticket_events(dev, tickets)
        assert len(published(dev, stored)) == stored, "published again to the new broker"
        dev.emit("MemberJoined", workspace_id="ws-restart", account_id="carol")
        assert submit(dev, dev.token("carol"), "ws-restart", "carol")[0] == 201
    finally:
        assert dev.stop() == 0


def test_dev_restarts_what_dies_and_stops_cleanly(dev: Dev) -> None:
    dev.start()
    dev.emit("MemberJoined", workspace_id="ws-super", account_id="alice")
    alice = dev.token("alice")
    assert submit(dev, alice, "ws-super")[0] == 201

    worker = dev.pid("worker")
    kill(worker)
    until(lambda: dev.pid("worker"), lambda pid: pid != worker)
    status, ticket = submit(dev, alice, "ws-super", "after the worker died")
    assert status == 201
    listed = until(
        lambda: call(f"{dev.api}/me/tickets", alice),
        lambda r: ticket["id"] in [item["id"] for item in r[1]["items"]],
    )
    assert ticket["id"] in [item["id"] for item in listed[1]["items"]], "the new worker projects"

    broker = dev.pid("Kafka broker")
    kill(broker)
    until(lambda: dev.pid("Kafka broker"), lambda pid: pid != broker)
    dev.emit("MemberJoined", workspace_id="ws-super", account_id="bob")
    assert submit(dev, dev.token("bob"), "ws-super", "after the broker died")[0] == 201

    postgres = dev.pid("PostgreSQL")
    kill(postgres)
    until(lambda: dev.pid("PostgreSQL"), lambda pid: pid != postgres)
    # restarted is not yet recovered: the API answers 503 until the database takes connections
    # again (crash recovery takes longer on a busy machine; seen over a minute in CI)
    ready = until(lambda: call(f"{dev.base}/readyz"), lambda r: r[0] == 200, RECOVERY)
    after = submit(dev, alice, "ws-super", "after PostgreSQL died")
    assert after[0] == 201, (ready, after, dev.output()[-3000:])

    api = dev.pid("API")
    kill(api)
    until(lambda: dev.pid("API"), lambda pid: pid != api)
    assert until(lambda: call(f"{dev.base}/healthz"), lambda r: r[0] == 200)[0] == 200
    assert dev.process is not None
    assert dev.process.poll() is None, "only Ctrl-C or SIGTERM stops dev"

    stopping = len(dev.output())
    started = time.monotonic()
    assert dev.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 30
    assert error_lines(dev.output()[stopping:]) == [], "a clean stop logs no error"
    assert not (dev.data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL stopped"


def test_ctrl_c_in_a_terminal_stops_everything_in_order_without_errors(dev: Dev) -> None:
    dev.start()
    dev.emit("MemberJoined", workspace_id="ws-ctrl-c", account_id="alice")
    assert submit(dev, dev.token("alice"), "ws-ctrl-c")[0] == 201
    assert dev.process is not None
    for name in ("API", "worker", "Kafka broker"):
        child = dev.pid(name)
        # out of the foreground group, which the terminal signals, but in dev's session: one
        # scheduling group (autogroup) with dev, as serve and worker started from one shell
        assert os.getpgid(child) == child != os.getpgid(dev.process.pid), name
        assert os.getsid(child) == os.getsid(dev.process.pid), name
    stopping = len(dev.output())
    # a terminal sends SIGINT to the whole foreground process group
    os.killpg(dev.process.pid, signal.SIGINT)
    status = dev.process.wait(90)
    dev.process = None
    assert status == 0
    after = dev.output()[stopping:]
    assert error_lines(after) == [], "a clean stop logs no error"
    order = [after.index(f"{name} stopped") for name in ("API", "worker")]
    assert order == sorted(order), "the API stops before the worker"


def test_dev_prints_sign_in_links_and_the_demo_user_is_a_member(dev: Dev) -> None:
    dev.start()
    links = re.findall(r"(http://127\.0\.0\.1:\d+/)#token=(\S+)", dev.output())
    assert len(links) == 2, dev.output()
    secret = dev.settings["TICKETING_JWT_SECRET"]
    (admin_page, admin), (user_page, user) = links
    assert jwt.decode(admin, secret, algorithms=["HS256"])["role"] == "admin"
    assert jwt.decode(user, secret, algorithms=["HS256"])["sub"] == "demo-user"
    for page in (admin_page, user_page):
        with urllib.request.urlopen(page, timeout=10) as response:  # noqa: S310 - loopback
            assert b'src="/console/app.js"' in response.read()
    # the MemberJoined went out on the broker; the worker applies it as any platform event
    _, workspaces = until(
        lambda: call(f"{dev.api}/me/workspaces", user),
        lambda result: result[1].get("items") == [{"workspace_id": "demo-workspace"}],
    )
    assert workspaces["items"] == [{"workspace_id": "demo-workspace"}]
    status, ticket = submit(dev, user, "demo-workspace", "from the demo link")
    assert status == 201
    # the admin new tickets go to is on the roster by name: customers read "Admin", not an id
    assert ticket["assignee"]["name"] == "Admin", ticket["assignee"]
