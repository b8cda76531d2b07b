"""One account's flood against everybody else's latency (issue 42; DESIGN.md: no account's
flood moves another account's p95 beyond twice its quiet value).

``ticketing serve`` (one process, its default threads) and ``ticketing worker`` on a scratch
database, a workspace of 200 tickets for each of two accounts. The other account reads its My
Tickets page 300 times, one request after another, on a quiet server, then again while the
flooding account, from a process of its own, keeps 100 requests that name a position beyond
the store (which waited 5 s each on a request thread before) and 20 XLSX exports of its
workspace going at once (the flooding process at a lower priority: it stands for a client
elsewhere, whose own CPU is not the server's). Printed: both p95s, their ratio against the
target of 2, and what the flood's requests were answered.

    .venv/bin/python bench/floods.py [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from bench.http_path import Client, Server, percentiles, server_env, verdict, wait_serving
from bench.support import scratch_database
from domain.actors import Actor, Role
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics

FLOODER, OTHER = "flooder", "other"
TICKETS = 200
READERS, EXPORTERS = 100, 20


def prepare(url: str) -> None:
    """A workspace of ``TICKETS`` tickets for each account."""
    app = build_app(Settings(database_url=url, default_assignee="lead"))
    try:
        for account in (FLOODER, OTHER):
            app.platform.member_joined(f"ws-{account}", account, str(uuid4()))
            actor = Actor(account, Role.USER, account.title())
            for n in range(TICKETS):
                app.submit(
                    actor,
                    f"ws-{account}",
                    ticket_type="bug",
                    title=f"Ticket {n}",
                    description="It is slow.",
                )
    finally:
        app.store.close()


def flood(port: int, readers: int, exporters: int) -> None:
    """The flooding account (run in a process of its own): readers naming a position beyond
    the store, and exporters, until its standard input closes; prints what it was answered."""
    # a lower priority: the flooder stands for a client elsewhere, so what its own threads
    # spend on these two cores should not count against the server (as bench/streams.py)
    os.nice(10)
    answered: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def keep(path: str, headers: dict[str, str]) -> None:
        client = Client(port)
        while not stop.is_set():
            try:
                status, _ = client.fetch("GET", path, FLOODER, headers=headers)
            except OSError:
                client = Client(port)
                continue
            with lock:
                answered[status] += 1
            if status == 429:
                time.sleep(float(client.headers.get(b"retry-after", b"1")))

    threads = [
        threading.Thread(target=keep, args=("/me/tickets", {"X-Ticketing-Position": "999999999"}))
        for _ in range(readers)
    ] + [
        threading.Thread(
            target=keep, args=(f"/workspaces/ws-{FLOODER}/tickets/export?format=xlsx", {})
        )
        for _ in range(exporters)
    ]
    for thread in threads:
        thread.start()
    sys.stdin.read()
    stop.set()
    for thread in threads:
        thread.join(60)
    print(dict(answered), flush=True)


def other_p95(port: int, requests: int) -> float:
    """The other account's p95 (ms) over ``requests`` reads of its My Tickets."""
    client = Client(port)
    client.fetch("GET", "/me/tickets", OTHER)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        status, _ = client.fetch("GET", "/me/tickets", OTHER)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return percentiles(samples)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--readers", type=int, default=READERS)
    parser.add_argument("--exporters", type=int, default=EXPORTERS)
    parser.add_argument("--flood", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        flood(args.flood, args.readers, args.exporters)
        return
    with tempfile.TemporaryDirectory() as folder, scratch_database() as url:
        broker = EmbeddedBroker(free_port(), Path(folder) / "broker.log")
        bootstrap = broker.start()
        ensure_topics(bootstrap, Settings().all_topics)
        prepare(url)
        port = free_port()
        env = server_env(url, bootstrap, port, "lead")
        env["TICKETING_LIMIT_EXPORTS_PER_MINUTE"] = str(Settings().limit_exports_per_minute)
        server = Server(env, Path(folder))
        try:
            wait_serving(port)
            other_p95(port, 50)  # warm
            quiet = other_p95(port, args.requests)
            flooder = [sys.executable, __file__, "--readers", str(args.readers)]
            flooder += ["--exporters", str(args.exporters), "--flood"]
            flooding = subprocess.Popen(  # noqa: S603 - our own script
                [*flooder, str(port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(3)  # the flood is on
            loud = other_p95(port, args.requests)
            told, _ = flooding.communicate("", timeout=120)
        finally:
            server.stop()
            broker.stop()
    print(f"other account's p95: quiet {quiet:.1f} ms, during the flood {loud:.1f} ms")
    print(f"the flood was answered (status: count): {told.strip()}")
    print(verdict("p95 during the flood / quiet p95", loud / quiet, 2.0, at_least=False))


if __name__ == "__main__":
    main()
