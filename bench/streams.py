"""Live streams under load: 1,000 open streams while the Request Tracker workload runs.

``ticketing serve`` (its default processes) and ``ticketing worker`` as subprocesses, as in
``bench/http_path.py``. The same run measures, in order:

1. creates and replies with 4 clients, no stream open (the baseline);
2. the API processes' memory, then 1,000 streams opened by a separate process (so that
   reading them costs the load generator nothing): 10 of the default assignee (an admin: every
   ticket change and a notification for each create and each reply), ``--watchers`` (40) of
   members of the workspace the workload writes to (its ticket changes; 190 is the worst case
   we measure too), the rest of members of other workspaces (nothing but comments);
3. the same creates and replies with the streams open, then the memory again.

Targets, as ratios and bounds of the same run: command rates with streams >= 0.8 of the
baseline's; memory added by the streams <= 200 MiB; from a command's answer to its change on a
stream, p99 < 1 s; every notification delivered exactly once to each of the admin's streams.

    .venv/bin/python bench/streams.py [--commands 400] [--streams 1000] [--watchers 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from application.tokens import issue_token
from bench.http_path import (
    BODY,
    CLIENTS,
    SECRET,
    Client,
    Server,
    measured,
    server_env,
    wait_serving,
)
from bench.support import scratch_database
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = "live"
MEMBERS = [f"live-user-{n}" for n in range(8)]
LEAD = "lead"  # the default assignee: told of every create and every reply
ADMIN_STREAMS = 10
WATCHED = 20  # member streams whose events are parsed for the delivery times


def stream_accounts(count: int, watchers: int) -> list[tuple[str, str]]:
    """(account, role) of each stream: admins, members of the busy workspace, others."""
    accounts = [(LEAD, "admin")] * ADMIN_STREAMS
    accounts += [(f"watcher-{n}", "user") for n in range(watchers)]
    accounts += [(f"elsewhere-{n}", "user") for n in range(count - len(accounts))]
    return accounts


async def _read_stream(
    port: int, account: str, role: str, index: int, parses: bool, seen: dict[str, Any]
) -> None:
    token = issue_token(SECRET, account, role, ttl=7200)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/v1/me/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        seen["refused"] += 1
        return
    seen["open"] += 1
    if not parses:
        # the others only read (parsing each of them would cost this machine's two cores
        # more than the server spends sending)
        while await reader.read(65536):
            pass
        return
    name = ""
    received: dict[str, float] = seen["received"]
    notifications: list[str] = seen["notifications"].setdefault(index, [])
    while line := await reader.readline():
        if line.startswith(b"event: "):
            name = line[7:].strip().decode()
        elif line.startswith(b"data: ") and name == "notification":
            notifications.append(json.loads(line[6:])["notification_id"])
        elif line.startswith(b"data: ") and name == "ticket":
            ticket_id = json.loads(line[6:])["ticket_id"]
            received.setdefault(f"{index} {ticket_id}", time.time())  # its first change


def run_streams(port: int, count: int, watchers: int, out: Path, ready: Path, stop: Path) -> None:
    """The stream process: open the streams, report when they are open, read until told.
    It runs at a lower priority: it stands for a thousand browsers elsewhere, so the
    server's processes come first on these two cores (it still reads everything)."""
    os.nice(5)
    seen: dict[str, Any] = {"open": 0, "refused": 0, "received": {}, "notifications": {}}

    async def main() -> None:
        tasks = []
        for index, (account, role) in enumerate(stream_accounts(count, watchers)):
            parses = index < ADMIN_STREAMS + min(WATCHED, watchers)
            reading = _read_stream(port, account, role, index, parses, seen)
            tasks.append(asyncio.create_task(reading))
            if index % 50 == 49:
                await asyncio.sleep(0.05)  # a crowd arriving, not one burst
        while seen["open"] + seen["refused"] < count:
            await asyncio.sleep(0.1)
        ready.write_text(json.dumps({"open": seen["open"], "refused": seen["refused"]}))
        while not stop.exists():
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # what is still on its way
        for task in tasks:
            task.cancel()

    asyncio.run(main())
    admin = [seen["notifications"].get(index, []) for index in range(ADMIN_STREAMS)]
    out.write_text(json.dumps({"received": seen["received"], "admin_notifications": admin}))


def api_memory(server: Server) -> float:
    """MiB resident in the API's processes (gunicorn's master and its workers)."""
    parent = psutil.Process(server.processes[0].pid)
    resident = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
    return float(resident) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=400)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument(
        "--watchers",
        type=int,
        default=40,
        help="streams of members of the workspace the workload writes to (190: the worst case)",
    )
    parser.add_argument("--stream-process", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_process:
        port, out, ready, stop = args.stream_process
        run_streams(int(port), args.streams, args.watchers, Path(out), Path(ready), Path(stop))
        return
    folder = ROOT / "var" / "streams-bench"
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in ("ready.json", "stop", "streams.json"):
        (folder / leftover).unlink(missing_ok=True)
    broker = EmbeddedBroker(free_port(), folder / "broker.log")
    with scratch_database() as url:
        bootstrap = broker.start()
        ensure_topics(bootstrap, Settings().all_topics)
        app = build_app(Settings(database_url=url, default_assignee=LEAD))
        accounts = stream_accounts(args.streams, args.watchers)
        watching = [
            account for account, _ in accounts[ADMIN_STREAMS : ADMIN_STREAMS + args.watchers]
        ]
        for member in MEMBERS + watching:
            app.platform.member_joined(WORKSPACE, member, str(uuid4()))
        for n in range(args.streams - ADMIN_STREAMS - args.watchers):
            app.platform.member_joined(f"elsewhere-ws-{n % 50}", f"elsewhere-{n}", str(uuid4()))
        app.store.close()
        port = free_port()
        server = Server(server_env(url, bootstrap, port, LEAD), folder)
        streams: subprocess.Popen[bytes] | None = None
        try:
            wait_serving(port)
            answered: dict[str, float] = {}  # ticket id -> when its submission was answered
            created: list[tuple[str, str]] = []
            lock = threading.Lock()

            def create(client: Client, n: int) -> None:
                account = MEMBERS[n % len(MEMBERS)]
                status, ticket = client.call(
                    "POST", f"/workspaces/{WORKSPACE}/tickets", account, BODY
                )
                assert status == 201, ticket
                with lock:
                    answered[ticket["id"]] = time.time()
                    created.append((account, ticket["id"]))

            def reply(client: Client, item: tuple[str, str]) -> None:
                account, ticket_id = item
                status, body = client.call(
                    "POST", f"/tickets/{ticket_id}/messages", account, {"body": "Still."}
                )
                assert status == 201, body

            cpu: dict[str, list[dict[str, float]]] = {}

            def workload(phase: str) -> tuple[float, float, list[str]]:
                start = len(created)
                creates, cpu_creates = measured(
                    server, CLIENTS, list(range(args.commands)), create, port
                )
                mine = created[start:]
                replies, cpu_replies = measured(server, CLIENTS, mine, reply, port)
                cpu[phase] = [cpu_creates, cpu_replies]
                return creates, replies, [ticket_id for _, ticket_id in mine]

            measured(server, 1, list(range(50)), create, port)  # warm up every process
            base_creates, base_replies, _ = workload("without")
            memory_before = api_memory(server)
            streams = subprocess.Popen(  # noqa: S603 - this benchmark, in a process of its own
                [sys.executable, __file__, "--streams", str(args.streams), "--watchers",
                 str(args.watchers), "--stream-process",
                 str(port), str(folder / "streams.json"), str(folder / "ready.json"),
                 str(folder / "stop")],
                cwd=ROOT,
            )  # fmt: skip
            while not (folder / "ready.json").exists():
                time.sleep(0.2)
                assert streams.poll() is None, "the stream process died"
            opened = json.loads((folder / "ready.json").read_text())
            memory_open = api_memory(server)
            readers = psutil.Process(streams.pid)
            readers_cpu = readers.cpu_times().user + readers.cpu_times().system
            live_started = time.perf_counter()
            live_creates, live_replies, live_ids = workload("with")
            live_seconds = time.perf_counter() - live_started
            readers_cpu = readers.cpu_times().user + readers.cpu_times().system - readers_cpu
            memory_after = api_memory(server)
            (folder / "stop").write_text("stop")
            streams.wait(120)
            result = json.loads((folder / "streams.json").read_text())
        finally:
            if streams is not None and streams.poll() is None:
                streams.kill()
            server.stop()
            broker.stop()

    latencies = []  # every (stream, ticket) of the streams that parse, admins' and members'
    wanted = set(live_ids)
    for key, at in result["received"].items():
        ticket_id = key.split()[1]
        if ticket_id in wanted:
            latencies.append(max(0.0, at - answered[ticket_id]))
    latencies.sort()
    missing = len(live_ids) * (ADMIN_STREAMS + min(WATCHED, args.watchers)) - len(latencies)
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan")
    admin = result["admin_notifications"]
    doubled = sum(len(ids) - len(set(ids)) for ids in admin)
    counts = sorted({len(set(ids)) for ids in admin})
    print(f"streams open: {opened['open']} of {args.streams} (refused {opened['refused']})")
    print(
        f"creates, {CLIENTS} clients: {base_creates:.1f}/s without streams, "
        f"{live_creates:.1f}/s with them: {live_creates / base_creates:.2f} (target >= 0.8)"
    )
    print(
        f"replies, {CLIENTS} clients: {base_replies:.1f}/s without streams, "
        f"{live_replies:.1f}/s with them: {live_replies / base_replies:.2f} (target >= 0.8)"
    )
    for phase, (on_creates, on_replies) in cpu.items():
        split = ", ".join(
            f"{role} {on_creates[role]:.1f}/{on_replies[role]:.1f}" for role in on_creates
        )
        print(f"CPU ms per create/reply {phase} streams: {split}")
    print(
        f"the stream readers (this benchmark's own process) used {readers_cpu:.1f} s of CPU "
        f"in the {live_seconds:.1f} s with streams, on the same two cores"
    )
    print(
        f"API memory: {memory_before:.0f} MiB, {memory_open:.0f} with the streams open, "
        f"{memory_after:.0f} after the workload: +{memory_after - memory_before:.0f} MiB "
        "(target <= 200)"
    )
    print(
        f"answer to stream (ticket submitted): p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
        f"{missing} not received (target p99 < 1000 ms)"
    )
    print(
        f"notifications per admin stream: {counts} of {2 * args.commands} derived "
        f"(a create's ticket_assigned, a reply's user_replied); delivered twice: {doubled} "
        "(target: all on every stream, none twice)"
    )


if __name__ == "__main__":
    main()
