"""Soak: a bounded mixed workload against ``ticketing serve`` with ``ticketing worker`` beside it.

Client threads submit, reply, accept, close, list, search, export, read details and history,
and send a share of requests the service must refuse (unknown tickets, bad bodies, odd
methods), for ``--duration`` seconds against a real PostgreSQL and broker on this machine.
Reported: requests and errors (any 5xx, or a status the operation never answers), the
resident memory of the API processes over time and its slope after the warm-up, and the
projection lag (from a command's answer until the read models reach its position: p50, p99).

The load is bounded: the clients together send ``--rate`` requests per second (a steady
production load for one small instance), not as many as the machine can take, so the lag
measures the service, not an overloaded machine.

    .venv/bin/python bench/soak.py [--duration 600] [--clients 8] [--rate 150] [--warmup 120]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from application.tokens import issue_token
from bench.support import ROOT, UNLIMITED, scratch_database
from projections.view import SOURCE_NAME
from tests.e2e.dev_support import Served, call
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics

SECRET = "soak-secret-long-enough-for-hs256-0123456789abcdefghij"  # noqa: S105 - a bench
WORKSPACES = 20


class Load:
    """The shared state of the client threads: tokens, tickets, counts, command positions."""

    def __init__(self, api: str, deadline: float, clients: int, rate: float) -> None:
        self.api, self.deadline, self.clients, self.rate = api, deadline, clients, rate
        self.admin = issue_token(SECRET, "soak-admin", "admin", name="Admin")
        self.tickets: list[tuple[str, str, str]] = []  # (ticket id, submitter, workspace)
        self.statuses: Counter[str] = Counter()
        self.errors: list[str] = []
        self.positions: list[tuple[int, float]] = []
        self.lock = threading.Lock()

    def user(self, number: int) -> tuple[str, str, str]:
        account = f"soak-user-{number % (WORKSPACES * 3)}"
        return account, f"soak-ws-{number % WORKSPACES}", issue_token(SECRET, account)

    def record(self, what: str, status: int, allowed: tuple[int, ...], answer: Any) -> None:
        with self.lock:
            self.statuses[f"{what} {status}"] += 1
            if status >= 500 or status == 0 or status not in allowed:
                self.errors.append(f"{what}: {status} {str(answer)[:200]}")


def submit(url: str, token: str, body: dict[str, Any]) -> tuple[int, Any, int]:
    """POST a submission; (status, document, X-Ticketing-Position)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode())  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            position = int(response.headers["X-Ticketing-Position"])
            return response.status, json.loads(response.read()), position
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:200], 0
    except OSError as error:
        return 0, str(error), 0


def client(load: Load, number: int) -> None:
    """One client thread: a random mix of operations until the deadline."""
    rng = random.Random(number)
    interval = load.clients / load.rate
    next_at = time.monotonic() + rng.random() * interval
    while time.monotonic() < load.deadline:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + interval, time.monotonic() - interval)
        account, ws, token = load.user(rng.randrange(10_000))
        choice = rng.random()
        if choice < 0.25 or not load.tickets:
            body = {"type": "bug", "title": f"soak {uuid4().hex[:6]}", "description": "load"}
            status, answer, position = submit(f"{load.api}/workspaces/{ws}/tickets", token, body)
            load.record("submit", status, (201,), answer)
            if status == 201:
                with load.lock:
                    load.tickets.append((answer["id"], account, ws))
                    load.positions.append((position, time.monotonic()))
            continue
        ticket_id, owner, ticket_ws = rng.choice(load.tickets[-500:])
        owner_token = issue_token(SECRET, owner)
        base = f"{load.api}/tickets/{ticket_id}"
        if choice < 0.35:
            status, answer = call(f"{base}/messages", owner_token, {"body": "more detail"})
            load.record("user reply", status, (201, 409), answer)
        elif choice < 0.42:
            status, answer = call(f"{base}/accept", load.admin, {})
            load.record("accept", status, (200, 409), answer)
        elif choice < 0.50:
            status, answer = call(f"{base}/messages", load.admin, {"body": "an answer"})
            load.record("handler reply", status, (201, 409), answer)
        elif choice < 0.53:
            status, answer = call(f"{base}/close", owner_token, {})
            load.record("close", status, (200, 409), answer)
        elif choice < 0.68:
            status, answer = call(
                f"{load.api}/workspaces/{ticket_ws}/tickets?limit=20", owner_token
            )
            load.record("list", status, (200,), answer)
        elif choice < 0.73:
            status, answer = call(
                f"{load.api}/me/tickets?q=soak&status=waiting_for_feedback", owner_token
            )
            load.record("search", status, (200,), answer)
        elif choice < 0.75:
            status, _ = call(
                f"{load.api}/workspaces/{ticket_ws}/tickets/export?format=csv", owner_token
            )
            load.record("export", status, (200,), "")
        elif choice < 0.88:
            status, answer = call(base, owner_token)
            load.record("details", status, (200,), answer)
        elif choice < 0.92:
            status, answer = call(f"{base}/history", load.admin)
            load.record("history", status, (200,), answer)
        elif choice < 0.96:
            status, answer = call(f"{load.api}/tickets/{uuid4()}", owner_token)
            load.record("unknown ticket", status, (404,), answer)
        else:
            status, answer = call(f"{load.api}/workspaces/{ws}/tickets", token, {"title": 5})
            load.record("bad body", status, (422,), answer)


API_PROCESSES: set[int] = set()  # every API worker process seen (a recycled one is replaced)


def api_memory(server: Served) -> int:
    """Resident bytes of the API's worker processes."""
    children = psutil.Process(server.process.pid).children()
    API_PROCESSES.update(child.pid for child in children)
    return sum(child.memory_info().rss for child in children)


def lag_sampler(database_url: str, load: Load, lags: list[float], stop: threading.Event) -> None:
    """How long each command's position took to reach the read models (50 ms resolution)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT notification_id FROM read_models_tracking WHERE application_name = %s",
                (SOURCE_NAME,),
            ).fetchone()
            reached, now = (row[0] if row else 0), time.monotonic()
            with load.lock:
                waiting = []
                for position, at in load.positions:
                    if position <= reached:
                        lags.append(now - at)
                    else:
                        waiting.append((position, at))
                load.positions[:] = waiting
            stop.wait(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=150.0, help="requests per second, all clients"
    )
    parser.add_argument("--warmup", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, scratch_database() as database_url:
        broker = EmbeddedBroker(free_port(), Path(folder) / "broker.log")
        bootstrap = broker.start()
        settings = Settings(database_url=database_url, jwt_secret=SECRET, kafka_bootstrap=bootstrap,
                            default_assignee="soak-admin")  # fmt: skip
        ensure_topics(bootstrap, settings.all_topics)
        app = build_app(settings)
        for n in range(WORKSPACES * 3):
            app.platform.member_joined(f"soak-ws-{n % WORKSPACES}", f"soak-user-{n}", str(uuid4()))
        app.store.close()
        env = {"TICKETING_DATABASE_URL": database_url, "TICKETING_JWT_SECRET": SECRET,
               "TICKETING_KAFKA_BOOTSTRAP": bootstrap, "TICKETING_DEFAULT_ASSIGNEE": "soak-admin",
               "TICKETING_LOG_LEVEL": "WARNING", **UNLIMITED}  # fmt: skip
        worker = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "worker"], env={**os.environ, **env}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=(Path(folder) / "worker.log").open("wb"),
        )  # fmt: skip
        server = Served(env, Path(folder) / "serve.log")
        started = time.monotonic()
        load = Load(server.api, started + args.duration, args.clients, args.rate)
        lags: list[float] = []
        stop = threading.Event()
        sampler = threading.Thread(target=lag_sampler, args=(database_url, load, lags, stop))
        sampler.start()
        threads = [threading.Thread(target=client, args=(load, n)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        memory: list[tuple[float, int, int]] = []  # (seconds, requests so far, bytes)
        try:
            while any(thread.is_alive() for thread in threads):
                memory.append((time.monotonic() - started, sum(load.statuses.values()),
                               api_memory(server)))  # fmt: skip
                time.sleep(min(10.0, args.duration / 20))
            memory.append((time.monotonic() - started, sum(load.statuses.values()),
                           api_memory(server)))  # fmt: skip
        finally:
            for thread in threads:
                thread.join(60)
            time.sleep(2)
            stop.set()
            sampler.join(30)
            server.stop()
            worker.terminate()
            worker.wait(60)
            broker.stop()
        report(load, memory, lags, args.warmup)


def report(
    load: Load, memory: list[tuple[float, int, int]], lags: list[float], warmup: float
) -> None:
    total = sum(load.statuses.values())
    elapsed = memory[-1][0]
    print(f"{total:,} requests in {elapsed:.0f}s ({total / elapsed:.0f}/s); "
          f"errors: {len(load.errors)}")  # fmt: skip
    for error in load.errors[:10]:
        print("  ", error)
    print("statuses:", ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items())))
    print("API resident memory (MiB) over time:")
    for seconds, requests, rss in memory:
        print(f"  {seconds:6.0f}s {requests:8,} requests {rss / 2**20:8.1f}")
    after = [(r, rss) for s, r, rss in memory if s >= warmup]
    if len(after) >= 2 and after[-1][0] > after[0][0]:
        slope = (after[-1][1] - after[0][1]) / (after[-1][0] - after[0][0])
        grown, requests = after[-1][1] - after[0][1], after[-1][0] - after[0][0]
        print(f"after the {warmup:.0f}s warm-up: {slope:+.1f} bytes per request "
              f"({grown / 2**20:+.1f} MiB over {requests:,} requests); between "
              f"{min(r for _, r in after) / 2**20:.1f} and {max(r for _, r in after) / 2**20:.1f} "
              f"MiB; API processes seen: {len(API_PROCESSES)} (more than "
              f"TICKETING_WEB_WORKERS: some were recycled)")  # fmt: skip
    if lags:
        lags.sort()
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        p50 = statistics.median(lags)
        print(f"projection lag over {len(lags):,} submissions: p50 {p50 * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
