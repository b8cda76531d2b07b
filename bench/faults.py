"""Faults against a running ``ticketing dev``: what the service does and how long recovery takes.

Each fault is injected by process id (SIGKILL, or SIGSTOP then SIGCONT), while a client keeps
calling the API; the figures are what that client saw. Results go to ``docs/reliability.md``.

    .venv/bin/python bench/faults.py [--stall 10 30]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.dev_support import Dev, call, kill, until


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def submit(dev: Dev, account: str, workspace: str, title: str) -> tuple[int, Any]:
    body = {"type": "bug", "title": title, "description": "fault bench"}
    return call(f"{dev.api}/workspaces/{workspace}/tickets", dev.token(account), body)


def listed(dev: Dev, account: str, ticket_id: str) -> bool:
    status, page = call(f"{dev.api}/me/tickets", dev.token(account))
    return status == 200 and ticket_id in [item["id"] for item in page["items"]]


def worker_killed(dev: Dev) -> None:
    worker = dev.pid("worker")
    kill(worker)
    killed = time.monotonic()
    _, ticket = until(lambda: submit(dev, "alice", "ws-bench", "during"), lambda r: r[0] == 201)
    until(lambda: listed(dev, "alice", ticket["id"]), bool, 120)
    restarted = until(lambda: dev.pid("worker"), lambda pid: pid != worker)
    print(f"worker SIGKILL: restarted as pid {restarted}; a ticket submitted meanwhile was "
          f"listed {time.monotonic() - killed:.1f}s after the kill")  # fmt: skip


def broker_killed(dev: Dev) -> None:
    broker = dev.pid("Kafka broker")
    kill(broker)
    killed = time.monotonic()
    until(lambda: dev.pid("Kafka broker"), lambda pid: pid != broker)
    account = f"late-{int(killed)}"
    dev.emit("MemberJoined", workspace_id="ws-bench", account_id=account)
    until(lambda: submit(dev, account, "ws-bench", "after the broker")[0], lambda s: s == 201)
    print(f"broker SIGKILL: a MemberJoined emitted after it took effect "
          f"{time.monotonic() - killed:.1f}s after the kill")  # fmt: skip


def postgres_killed(dev: Dev) -> None:
    postgres = dev.pid("PostgreSQL")
    kill(postgres)
    killed = time.monotonic()
    statuses: list[int] = []

    def attempt() -> int:
        status = submit(dev, "alice", "ws-bench", "after PostgreSQL")[0]
        statuses.append(status)
        return status

    until(attempt, lambda status: status == 201, 120)
    seen = sorted(set(statuses) - {201})
    print(f"PostgreSQL SIGKILL: submissions answered {seen} meanwhile, then 201 again "
          f"{time.monotonic() - killed:.1f}s after the kill")  # fmt: skip


def restarted(dev: Dev) -> None:
    code, stopping = timed(lambda: dev.stop(signal.SIGTERM))
    _, starting = timed(dev.start)
    print(f"ticketing dev SIGTERM: stopped in {stopping:.1f}s (exit {code}); "
          f"started again in {starting:.1f}s")  # fmt: skip


def stalled(dev: Dev, seconds: float) -> None:
    postmaster = psutil.Process(dev.pid("PostgreSQL"))
    processes = [postmaster, *postmaster.children()]
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    answers: list[tuple[int, float]] = []
    ready: list[float] = []
    try:
        while time.monotonic() - stopped < seconds:
            (status, _), seconds_taken = timed(
                lambda: call(f"{dev.api}/me/tickets", dev.token("alice"), timeout=30)
            )
            answers.append((status, seconds_taken))
            ready.append(timed(lambda: call(f"{dev.base}/readyz", timeout=30))[1])
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    until(lambda: call(f"{dev.api}/me/tickets", dev.token("alice"))[0], lambda s: s == 200)
    times = [t for _, t in answers]
    print(f"PostgreSQL SIGSTOP {seconds:.0f}s: {len(answers)} list requests, statuses "
          f"{sorted({s for s, _ in answers})}, slowest {max(times):.2f}s, median "
          f"{statistics.median(times):.2f}s; /readyz slowest {max(ready):.2f}s; lists answered "
          f"200 again {time.monotonic() - resumed:.1f}s after SIGCONT")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stall", type=float, nargs="*", default=[10.0, 30.0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        dev = Dev(Path(folder) / "var")
        (_, took) = timed(dev.start)
        print(f"ticketing dev started in {took:.1f}s on a new data folder")
        try:
            dev.emit("MemberJoined", workspace_id="ws-bench", account_id="alice")
            until(lambda: submit(dev, "alice", "ws-bench", "first")[0], lambda s: s == 201)
            worker_killed(dev)
            broker_killed(dev)
            postgres_killed(dev)
            restarted(dev)
            for seconds in args.stall:
                stalled(dev, seconds)
        finally:
            dev.kill()


if __name__ == "__main__":
    main()
