"""Scale-out on two hosts: each runs ``ticketing serve`` (two processes) and ``ticketing worker``
against one PostgreSQL and one broker (``tests/e2e/hosts.py``). Mixed traffic goes to both;
one host's worker is killed in the middle. Then: the platform partitions were split between
the two consumers and the survivor took them all, every platform effect happened once, the
read models equal a replay (``ticketing audit verify``), every stored ticket event is on
tickets.events, and a write on one host is read on the other with ``X-Ticketing-Position``.
"""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.bootstrap import build_app
from application.config import Settings
from application.messages import event_id
from application.tokens import issue_token
from domain.platform import Workspace
from tests.e2e.dev_support import call, until
from tests.e2e.hosts import TICKETING, Host, Network, TcpPostgres, make_hosts
from tests.integration.kafka_support import platform_event, read_topic
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics, make_producer

SECRET = "two-hosts-secret-that-is-long-enough"
PARTITIONS = {
    f"{topic}[{p}]" for topic in ("platform.accounts", "platform.workspaces") for p in range(3)
}
WORKSPACES = [f"ws-{n}" for n in range(4)]
STORIES = 60  # before the kill, and again after it: submit, list, accept, reply each
MEMBERS = {ws: [f"{ws}-user-{n}" for n in range(3)] for ws in WORKSPACES}


@dataclass
class Cluster:
    network: Network
    database_url: str
    broker: EmbeddedBroker
    hosts: list[Host]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    network = Network.create()
    postgres = TcpPostgres(tmp_path / "postgres", network.server_address, free_port())
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log", host=network.server_address)
    hosts: list[Host] = []
    try:
        database_url = postgres.start()
        broker.start()
        ensure_topics(broker.bootstrap, Settings().all_topics)
        hosts = make_hosts(network, tmp_path, database_url, broker, SECRET)
        for host in hosts:
            host.start("serve")
            host.start("worker")
        yield Cluster(network, database_url, broker, hosts)
    finally:
        for host in hosts:
            host.stop()
        broker.stop()
        postgres.stop()
        network.remove()


def token(sub: str, role: str = "user") -> str:
    return issue_token(SECRET, sub, role, ttl=3600)


def wait_ready(host: Host) -> int:
    """/readyz's status once it is 200 (bounded)."""
    status: int = until(
        lambda: call(f"http://{host.address}:8000/readyz")[0], lambda s: s == 200, 120
    )
    return status


def host_health(host: Host) -> Callable[[], int]:
    return lambda: host.health("worker")


def latest(found: list[set[str]]) -> set[str]:
    return found[-1] if found else set()


def split_between(shares: tuple[set[str], set[str]]) -> bool:
    """Both consumers hold partitions, together all, none twice."""
    first, second = shares
    return bool(first and second) and first | second == PARTITIONS and not first & second


def listing(host: Host, ws: str, position: int) -> Callable[[], tuple[int, Any]]:
    """A list of the workspace's tickets on ``host``, once it reached ``position``."""
    url = f"{host.api}/workspaces/{ws}/tickets?limit=100"
    headers = {"X-Ticketing-Position": str(position)}
    return lambda: call(url, token(MEMBERS[ws][0]), headers=headers)


def assignments(host: Host) -> list[set[str]]:
    """Every partition assignment the host's consumer logged (JSON lines), in order."""
    found = []
    for line in host.log("worker").splitlines():
        with contextlib.suppress(ValueError):
            message = str(json.loads(line).get("message", ""))
            if message.startswith("consuming ["):
                found.append(set(ast.literal_eval(message.removeprefix("consuming "))))
    return found


def emit(bootstrap: str, workspace_id: str, account_id: str, event: str) -> None:
    """MemberJoined for one account, keyed by its workspace (so partitions differ)."""
    producer = make_producer(Settings(kafka_bootstrap=bootstrap))
    try:
        value = platform_event(
            "MemberJoined", event_id=event, workspace_id=workspace_id, account_id=account_id
        )
        producer.send("platform.workspaces", key=workspace_id.encode(), value=value).get(30)
    finally:
        producer.close()


def raw_submit(
    host: Host, account: str, workspace_id: str, title: str
) -> tuple[int, Any, dict[str, str]]:
    """Submit on ``host``: (status, body, response headers)."""
    body = json.dumps({"type": "bug", "title": title, "description": "two hosts"}).encode()
    request = urllib.request.Request(  # noqa: S310 - the test's own hosts
        f"{host.api}/workspaces/{workspace_id}/tickets", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token(account)}"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def test_two_hosts_share_the_work_and_lose_nothing(cluster: Cluster, tmp_path: Path) -> None:
    first, second = cluster.hosts
    started = time.monotonic()
    for host in cluster.hosts:
        assert wait_ready(host) == 200, host.log("serve")[-3000:]
        assert until(host_health(host), lambda s: s == 0, 60) == 0, host.log("worker")[-3000:]
    first_share, second_share = until(
        lambda: (latest(assignments(first)), latest(assignments(second))), split_between, 60
    )
    assert split_between((first_share, second_share)), (
        first.log("worker")[-2000:],
        second.log("worker")[-2000:],
    )
    ready_after = time.monotonic() - started

    # platform facts, each delivered twice: one effect each
    events: dict[str, tuple[str, str]] = {}
    for ws, accounts in MEMBERS.items():
        for account in accounts:
            event = str(uuid4())
            events[event] = (ws, account)
            emit(cluster.broker.bootstrap, ws, account, event)
            emit(cluster.broker.bootstrap, ws, account, event)

    # mixed traffic on both hosts; each write is read on the other host at its position
    tickets: dict[str, str] = {}  # ticket id -> workspace
    lock = threading.Lock()

    def read_your_writes(index: int) -> float:
        """Submit on one host, list on the other at the submission's position."""
        ws = WORKSPACES[index % len(WORKSPACES)]
        account = MEMBERS[ws][index % 3]
        writer, reader = cluster.hosts[index % 2], cluster.hosts[(index + 1) % 2]
        status, ticket, headers = until(
            lambda: raw_submit(writer, account, ws, f"story {index}"),
            lambda result: result[0] == 201,  # the member may not have joined yet
            60,
        )
        assert status == 201, ticket
        with lock:
            tickets[ticket["id"]] = ws
        began = time.monotonic()
        listed_status, page = call(
            f"{reader.api}/workspaces/{ws}/tickets?limit=100", token(account),
            headers={"X-Ticketing-Position": headers["X-Ticketing-Position"]},
        )  # fmt: skip
        assert listed_status == 200, page
        assert ticket["id"] in {item["id"] for item in page["items"]}, "read your own write"
        waited = time.monotonic() - began
        base = f"/tickets/{ticket['id']}"
        accepted = call(f"{writer.api}{base}/accept", token("lead", "admin"), {})
        assert accepted[0] == 200, accepted
        replied = call(f"{reader.api}{base}/messages", token(account), {"body": "more detail"})
        assert replied[0] == 201, replied
        return waited

    traffic_started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        waits = list(pool.map(read_your_writes, range(STORIES)))
        first.kill("worker")  # in the middle of the traffic: SIGKILL by PID
        killed_at = time.monotonic()
        late = {str(uuid4()): ("ws-late", f"late-{n}") for n in range(3)}
        for event, (ws, account) in late.items():
            emit(cluster.broker.bootstrap, ws, account, event)
        events.update(late)
        waits += list(pool.map(read_your_writes, range(STORIES, 2 * STORIES)))  # both APIs serve
    traffic_seconds = time.monotonic() - traffic_started

    # the survivor took every partition and applied what came after the kill
    took_over = until(lambda: latest(assignments(second)), lambda a: a == PARTITIONS, 60)
    assert took_over == PARTITIONS, second.log("worker")[-3000:]
    status, _ = until(
        lambda: call(f"{second.api}/workspaces/ws-late/tickets", token("late-0"),
                     {"type": "bug", "title": "after the kill", "description": "d"}),
        lambda result: result[0] == 201, 90,
    )  # fmt: skip
    assert status == 201
    takeover_seconds = time.monotonic() - killed_at
    assert until(lambda: first.health("worker", "--max-age", "8"), lambda s: s == 1, 30) == 1
    assert second.health("worker") == 0

    # every platform effect once: the workspaces' MemberJoined events, by platform event id
    app = build_app(Settings(database_url=cluster.database_url, default_assignee="lead"))
    try:
        applied: dict[str, int] = {}
        for ws in {*WORKSPACES, "ws-late"}:
            for stored in app.store.events.get(Workspace.create_id(ws)):
                platform_event_id = getattr(stored, "platform_event_id", None)
                if type(stored).__name__ == "MemberJoined" and platform_event_id:
                    applied[platform_event_id] = applied.get(platform_event_id, 0) + 1
        assert applied == dict.fromkeys(events, 1), "each platform event took effect once"

        # every stored ticket event on tickets.events, duplicates only with the same event_id
        expected: set[tuple[str, int]] = set()
        for ticket_id in tickets:
            versions = [e.originator_version for e in app.store.events.get(UUID(ticket_id))]
            expected |= {(ticket_id, version) for version in versions}
        head = app.store.recorder.max_notification_id() or 0
        with app.store.datastore.get_connection() as conn:
            sizes = conn.execute(
                "SELECT pg_total_relation_size('ticketing_events') AS events, "
                "pg_total_relation_size('ticket_summaries') AS summaries, "
                "(SELECT count(*) FROM ticketing_events) AS stored"
            ).fetchone()
        assert sizes is not None
    finally:
        app.store.close()
    seen: dict[tuple[str, int], set[str]] = {}

    def published(records: list[Any]) -> bool:
        seen.clear()
        for record in records:
            message = json.loads(record.value)
            key = (message["ticket_id"], message["version"])
            seen.setdefault(key, set()).add(message["event_id"])
        return expected <= set(seen)

    records = read_topic(cluster.broker.bootstrap, "tickets.events", 0, timeout=90, until=published)
    assert expected <= set(seen), f"{len(expected - set(seen))} stored events not published"
    for (ticket_id, version), ids in seen.items():
        assert ids == {event_id(UUID(ticket_id), version)}, "a duplicate has its original id"

    # the read models: every ticket once, and equal to a replay of the whole store
    for ws in WORKSPACES:
        listed = until(listing(second, ws, head), lambda result: result[0] == 200, 30)[1]
        listed_ids = [item["id"] for item in listed["items"]]
        assert len(listed_ids) == len(set(listed_ids)) == list(tickets.values()).count(ws)
    audit = subprocess.run(  # noqa: S603 - our own command line
        [*TICKETING, "audit", "verify"], env=second.env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr

    waits.sort()
    print(
        f"\ntwo hosts ({'network namespaces' if cluster.network.namespaced else 'loopback'}): "
        f"ready in {ready_after:.1f}s; partitions {sorted(first_share)} | {sorted(second_share)}; "
        f"{len(tickets)} tickets ({5 * len(tickets)} requests) in {traffic_seconds:.1f}s; "
        "read-your-writes across hosts "
        f"p50 {waits[len(waits) // 2] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms; "
        f"worker killed: the survivor applied a later event {takeover_seconds:.1f}s after; "
        f"{len(records)} messages on tickets.events for {len(seen)} ticket events; "
        f"{sizes['stored']} stored events, {sizes['events'] // len(tickets)} bytes of event "
        f"store and {sizes['summaries'] // len(tickets)} of read model per ticket"
    )
