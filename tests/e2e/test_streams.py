"""Live streams (CONTRACT.md §6.3) from a real ``ticketing serve``: each caller receives what
it may see and nothing else, and a reconnect with Last-Event-ID misses nothing."""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from api.stream_events import replayed_feed
from api.streams import HUB_NAME, SEND_BUFFER
from application.bootstrap import build_app
from application.config import Settings
from application.database import eventsourcing_env
from application.tokens import issue_token
from domain.actors import Actor, Role
from projections.notifications import NotificationFollower, follow
from projections.view import ReadModelView, TicketingEventLog
from tests.e2e.dev_support import Served, call, serving
from tests.e2e.sse import Stream

SECRET = "streams-secret-long-enough-for-hs256-0123456789abcdef"
ADMIN = "stream-admin"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker: str
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving(
        folder, database_url, broker, SECRET, 2, TICKETING_DEFAULT_ASSIGNEE=ADMIN
    ) as server:
        yield server


@pytest.fixture(scope="module")
def deriving(database_url: str) -> Iterator[None]:
    """The notifications follower, as ``ticketing worker`` runs it."""
    event_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    ReadModelView(event_log.datastore).create_table()
    stop = threading.Event()
    thread = threading.Thread(
        target=follow, args=(NotificationFollower(event_log, ADMIN), stop), daemon=True
    )
    thread.start()
    yield
    stop.set()
    thread.join(10)
    event_log.close()


def token(sub: str, role: str = "user") -> str:
    return issue_token(SECRET, sub, role, name=sub.title())


@pytest.fixture
def workspace(database_url: str, projecting: None) -> tuple[str, str, str]:
    """(workspace, a member who submits, another member), memberships applied."""
    app = build_app(Settings(database_url=database_url, default_assignee=ADMIN))
    ws, submitter, member = (f"{name}-{uuid4().hex[:6]}" for name in ("ws", "sue", "mo"))
    for account in (submitter, member):
        app.platform.member_joined(ws, account, str(uuid4()))
    view = ReadModelView(app.store.datastore)
    assert view.wait_for(app.store.recorder.max_notification_id() or 0, 30)
    app.store.close()
    return ws, submitter, member


def submit(served: Served, ws: str, submitter: str) -> dict[str, object]:
    status, ticket = call(
        f"{served.api}/workspaces/{ws}/tickets",
        token(submitter),
        {"type": "bug", "title": "Live", "description": "It moves"},
    )
    assert status == 201, ticket
    return dict(ticket)


def test_each_caller_receives_what_it_may_see_and_nobody_else_anything(
    served: Served, deriving: None, workspace: tuple[str, str, str]
) -> None:
    ws, submitter, member = workspace
    streams = {
        "submitter": Stream(served.port, token(submitter)),
        "member": Stream(served.port, token(member)),
        "admin": Stream(served.port, token(ADMIN, "admin")),
        "stranger": Stream(served.port, token(f"stranger-{uuid4().hex[:6]}")),
        "handler": Stream(served.port, token(f"hank-{uuid4().hex[:6]}", "handler")),
    }
    try:
        assert {name: stream.status for name, stream in streams.items()} == dict.fromkeys(
            streams, 200
        )
        ticket = submit(served, ws, submitter)
        ticket_id = str(ticket["id"])
        admin = token(ADMIN, "admin")
        assert call(f"{served.api}/tickets/{ticket_id}/accept", admin, {})[0] == 200
        answer = {"body": "Found it"}
        assert call(f"{served.api}/tickets/{ticket_id}/messages", admin, answer)[0] == 201

        def reached_version(stream: Stream, version: int = 4) -> bool:
            return any(
                e["ticket_id"] == ticket_id and e["version"] == version for e in stream.of("ticket")
            )

        for name in ("submitter", "member", "admin"):
            streams[name].wait_for(reached_version)
        streams["submitter"].wait_for(lambda s: len(s.of("notification")) == 1)
        [told] = streams["submitter"].of("notification")
        assert (told["kind"], told["summary"], told["ticket_id"]) == (
            "handler_replied",
            "Found it",
            ticket_id,
        )
        changes = [
            (e["version"], e["status"])
            for e in streams["member"].of("ticket")
            if e["ticket_id"] == ticket_id
        ]
        # changes read together come as the latest of them: versions rise, the last is 4
        assert [version for version, _ in changes] == sorted({v for v, _ in changes})
        assert changes[-1] == (4, "feedback_provided")
        assert {e["workspace_id"] for e in streams["member"].of("ticket")} == {ws}
        # (the default assignee also hears of other files' tickets breaching their SLA)
        told_admin = streams["admin"].of("notification")
        assert [e["kind"] for e in told_admin if e["ticket_id"] == ticket_id] == ["ticket_assigned"]
        assert streams["member"].of("notification") == []
        # the others had every chance: the admin's stream saw the last change already
        for name in ("stranger", "handler"):
            assert [e for e in streams[name].events if e.data.get("ticket_id") == ticket_id] == []
    finally:
        for stream in streams.values():
            stream.close()


def test_a_staff_note_reaches_staff_streams_and_never_a_users(
    served: Served, deriving: None, workspace: tuple[str, str, str]
) -> None:
    ws, submitter, member = workspace
    admin = token(ADMIN, "admin")
    users = [Stream(served.port, token(submitter)), Stream(served.port, token(member))]
    lead = Stream(served.port, admin)
    try:
        ticket_id = str(submit(served, ws, submitter)["id"])
        assert call(f"{served.api}/tickets/{ticket_id}/accept", admin, {})[0] == 200
        note = {"body": "Their admin paused the data source"}
        assert call(f"{served.api}/tickets/{ticket_id}/notes", admin, note)[0] == 201

        def version(number: int) -> Callable[[Stream], bool]:
            return lambda s: any(
                e["ticket_id"] == ticket_id and e["version"] == number for e in s.of("ticket")
            )

        lead.wait_for(version(4))  # the note: the users' streams were read in the same turn
        assert (
            call(f"{served.api}/tickets/{ticket_id}/messages", admin, {"body": "Fixed"})[0] == 201
        )
        [note_at] = [
            e.last_id
            for e in lead.events
            if e.name == "ticket" and e.data["ticket_id"] == ticket_id and e.data["version"] == 4
        ]
        lead.wait_for(version(5))
        for stream in users:
            stream.wait_for(version(4))  # the reply, as users count: the note takes no number
            mine = [e for e in stream.of("ticket") if e["ticket_id"] == ticket_id]
            assert max(e["version"] for e in mine) == 4  # never the store's 5
            assert note_at not in {e.last_id for e in stream.events}
            assert "paused" not in str([e.data for e in stream.events])
    finally:
        for stream in (*users, lead):
            stream.close()


def test_a_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(
    served: Served, deriving: None, workspace: tuple[str, str, str]
) -> None:
    ws, submitter, _ = workspace
    first = Stream(served.port, token(submitter))
    ticket_id = str(submit(served, ws, submitter)["id"])
    first.wait_for(lambda s: any(e["version"] == 2 for e in s.of("ticket")))  # acknowledged
    first.close()
    seen = first.last_id
    admin = token(ADMIN, "admin")
    assert call(f"{served.api}/tickets/{ticket_id}/accept", admin, {})[0] == 200
    for n in range(3):
        body = {"body": f"answer {n}"}
        assert call(f"{served.api}/tickets/{ticket_id}/messages", admin, body)[0] == 201
    again = Stream(served.port, token(submitter), last_event_id=seen)
    try:
        again.wait_for(lambda s: len(s.of("notification")) == 3)
        again.wait_for(lambda s: any(e["version"] == 6 for e in s.of("ticket")))
        versions = [e["version"] for e in again.of("ticket")]
        assert versions == sorted(set(versions))  # nothing again, nothing out of order
        assert min(versions) >= 3
        assert [e["summary"] for e in again.of("notification")] == [f"answer {n}" for n in range(3)]
    finally:
        again.close()


def test_staff_viewing_the_same_ticket_see_each_other_and_users_never_do(
    served: Served, deriving: None, workspace: tuple[str, str, str]
) -> None:
    ws, submitter, _ = workspace
    lead, auditor = token(ADMIN, "admin"), token(f"aud-{uuid4().hex[:6]}", "auditor")
    # open before the submission: a stream shows what happens after it opened
    user_stream = Stream(served.port, token(submitter))
    lead_stream = Stream(served.port, lead)
    ticket_id = str(submit(served, ws, submitter)["id"])
    try:
        path = f"{served.api}/tickets/{ticket_id}/presence"
        assert call(path, lead, {"state": "viewing"})[0] == 200
        status, answer = call(path, auditor, {"state": "replying"})
        assert status == 200
        assert answer["present"] == [
            {"account_id": ADMIN, "name": ADMIN.title(), "state": "viewing"}
        ]
        lead_stream.wait_for(lambda s: len(s.of("presence")) == 1)
        [seen] = lead_stream.of("presence")
        assert seen["state"] == "replying"
        assert seen["ticket_id"] == ticket_id
        leave = urllib.request.Request(path, method="DELETE")  # noqa: S310 - loopback only
        leave.add_header("Authorization", f"Bearer {auditor}")
        with urllib.request.urlopen(leave, timeout=10) as answered:  # noqa: S310
            assert answered.status == 200
        lead_stream.wait_for(lambda s: len(s.of("presence")) == 2)
        assert lead_stream.of("presence")[-1]["state"] == "left"
        user_stream.wait_for(lambda s: any(e["version"] == 2 for e in s.of("ticket")))
        assert user_stream.of("presence") == []
    finally:
        user_stream.close()
        lead_stream.close()


def test_streams_go_on_when_the_hub_loses_its_database_connections(
    served: Served, deriving: None, workspace: tuple[str, str, str], database_url: str
) -> None:
    ws, submitter, _ = workspace
    stream = Stream(served.port, token(submitter))
    try:
        first = str(submit(served, ws, submitter)["id"])
        stream.wait_for(lambda s: any(e["ticket_id"] == first for e in s.of("ticket")))
        with psycopg.connect(database_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (HUB_NAME,),
            ).fetchone()
        assert killed is not None
        assert killed[0] >= 2  # each serving process's listener and reader
        second = str(submit(served, ws, submitter)["id"])  # while the hubs reconnect
        stream.wait_for(lambda s: any(e["ticket_id"] == second for e in s.of("ticket")), 30)
    finally:
        stream.close()


def test_a_stream_without_a_valid_token_is_401(served: Served) -> None:
    assert Stream(served.port, "not-a-token").status == 401


def test_a_stream_ends_with_its_token_and_says_so(
    served: Served, deriving: None, workspace: tuple[str, str, str]
) -> None:
    ws, submitter, _ = workspace
    short = issue_token(SECRET, submitter, "user", ttl=3, name=submitter.title())
    stream = Stream(served.port, short)
    try:
        assert stream.status == 200
        stream.wait_for(lambda s: bool(s.of("expired")), timeout=10)
        assert stream.of("expired") == [{"reason": "token expired"}]
        submit(served, ws, submitter)  # a change after the expiry reaches it no more
        time.sleep(1.5)
        assert stream.of("ticket") == []
    finally:
        stream.close()


def test_an_account_may_hold_only_so_many_streams(served: Served) -> None:
    caller = token(f"tabs-{uuid4().hex[:6]}")
    streams: list[Stream] = []
    try:
        # two API processes: each holds up to 16 of the account's streams
        while len(streams) < 40:
            stream = Stream(served.port, caller)
            streams.append(stream)
            if stream.status == 429:
                break
        assert streams[-1].status == 429
        assert 16 <= len(streams) - 1 <= 32
    finally:
        for stream in streams:
            stream.close()


def test_a_reconnect_replays_only_what_its_caller_may_see_from_its_own_rows(
    served: Served, deriving: None, workspace: tuple[str, str, str], database_url: str
) -> None:
    ws, submitter, _ = workspace
    ticket_id = str(submit(served, ws, submitter)["id"])
    as_user = Actor(submitter, Role.USER, submitter)
    as_handler = Actor("hank", Role.HANDLER, "Hank")
    with psycopg.connect(database_url) as conn:
        plans = [
            " ".join(
                str(row[0])
                for row in conn.execute(f"EXPLAIN {statement.as_string(conn)}", params).fetchall()
            )
            for statement, params in (
                replayed_feed(as_user, [ws], 1, 2_000_000),
                replayed_feed(as_handler, [], 1, 2_000_000),
            )
        ]
    assert "ticket_feed_by_workspace" in plans[0], plans[0]
    assert "ticket_feed_by_assignee" in plans[1], plans[1]
    admin = token(ADMIN, "admin")
    lead = Stream(served.port, admin)
    assert call(f"{served.api}/tickets/{ticket_id}/accept", admin, {})[0] == 200
    note = {"body": "Zanzibarite: their admin paused the source"}
    assert call(f"{served.api}/tickets/{ticket_id}/notes", admin, note)[0] == 201

    def at(version: int) -> Callable[[Stream], bool]:
        return lambda s: any(
            e["ticket_id"] == ticket_id and e["version"] == version for e in s.of("ticket")
        )

    try:
        lead.wait_for(at(4))  # the note's change is in the feed
    finally:
        lead.close()
    replayed = {
        "user": Stream(served.port, token(submitter), last_event_id="1"),
        "admin": Stream(served.port, admin, last_event_id="1"),
    }
    try:
        replayed["admin"].wait_for(at(4))
        replayed["user"].wait_for(at(3))
        mine = replayed["user"].of("ticket")
        assert {e["ticket_id"] for e in mine} == {ticket_id}  # nothing of anyone else's
        assert 4 not in {e["version"] for e in mine}  # the note's change is staff-only
        assert "Zanzibarite" not in str([e.data for e in replayed["user"].events])
    finally:
        for stream in replayed.values():
            stream.close()


def send_buffers(port: int) -> dict[int, int]:
    """Peer port -> the send buffer (bytes) of each connection the server on ``port`` holds,
    as the kernel reports it (``ss``'s ``tb``)."""
    shown = subprocess.run(  # noqa: S603
        ["/usr/bin/ss", "-tmnH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.split("\n")
    buffers, peer = {}, None
    for line in shown:
        fields = line.split()
        if len(fields) >= 4 and ":" in fields[-1]:
            peer = int(fields[-1].rpartition(":")[2])
        elif "skmem:" in line and peer is not None:
            buffers[peer] = int(line.split(",tb")[1].split(",")[0])
    return buffers


@pytest.mark.skipif(not Path("/usr/bin/ss").exists(), reason="needs iproute2's ss")
def test_a_streams_socket_parks_little_in_the_kernel(served: Served) -> None:
    stream = Stream(served.port, token(f"idle-{uuid4().hex[:6]}"))
    plain = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        plain.request("GET", "/api/v1/ticket-types")
        plain.getresponse().read()  # a connection that is not a stream, kept open
        mine = stream._conn.sock.getsockname()[1]
        other = plain.sock.getsockname()[1]
        buffers = send_buffers(served.port)
        assert buffers[mine] <= 2 * SEND_BUFFER + 4096, buffers
        assert buffers[other] > 2 * SEND_BUFFER + 4096, buffers  # the kernel's default
    finally:
        plain.close()
        stream.close()
