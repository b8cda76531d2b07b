"""``ticketing dev`` as a user runs it: a subprocess on free loopback ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from kafka import KafkaConsumer, TopicPartition

from application.tokens import issue_token
from workers.embedded_broker import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 90.0
WAIT = 30.0


def start(
    data_dir: Path, port: int, kafka_port: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``ticketing dev`` and wait (bounded) for the admin token it prints."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "workers.cli", "dev", "--port", str(port),
         "--kafka-port", str(kafka_port), "--data-dir", str(data_dir)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if "admin token:" in line:
                return process, line.split("admin token:")[1].strip()
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"ticketing dev did not start:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def call(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def until(attempt: Any, done: Any, timeout: float = WAIT) -> Any:
    """Repeat ``attempt`` until ``done(result)`` (bounded); the last result."""
    deadline = time.monotonic() + timeout
    result = attempt()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = attempt()
    return result


def ticket_events(bootstrap: str, ticket_id: str) -> list[str]:
    """Types of the messages about one ticket on tickets.events (bounded wait)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition("tickets.events", p)
            for p in consumer.partitions_for_topic("tickets.events") or []
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: list[str] = []
        deadline = time.monotonic() + WAIT
        while len(found) < 2 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                found += [json.loads(r.value)["type"] for r in batch if r.key == ticket_id.encode()]
        return found
    finally:
        consumer.close()


def test_dev_runs_everything_and_restarts_on_the_same_data(tmp_path: Path) -> None:
    data_dir, port, kafka_port = tmp_path / "var", free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env_file = data_dir / "ticketing.env"

    process, admin = start(data_dir, port, kafka_port, tmp_path / "first.log")
    try:
        status, ready = call(f"{base}/readyz")
        assert (status, ready["checks"]) == (200, {"database": "ok", "broker": "ok"})
        emit = ["emit", "MemberJoined", "workspace_id=ws-e2e", "account_id=alice"]
        emitted = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "workers.cli", *emit],
            env={**os.environ, "TICKETING_ENV_FILE": str(env_file)},
            cwd=ROOT,
            capture_output=True,
            timeout=60,
            check=True,
        )
        assert b"event_id" in emitted.stdout
        settings = dotenv_values(env_file)
        alice = issue_token(str(settings["TICKETING_JWT_SECRET"]), "alice", name="Alice")
        body = {"type": "bug", "title": "e2e", "description": "through Kafka and HTTP"}
        status, ticket = until(
            lambda: call(f"{base}/api/v1/workspaces/ws-e2e/tickets", alice, body),
            lambda result: result[0] == 201,
        )
        assert status == 201, ticket
        types = ticket_events(str(settings["TICKETING_KAFKA_BOOTSTRAP"]), ticket["id"])
        assert types == ["TicketSubmitted", "HandlerReplied"]
        _, page = until(lambda: call(f"{base}/api/v1/me/tickets", alice), lambda r: r[1]["items"])
        assert [item["id"] for item in page["items"]] == [ticket["id"]]
    finally:
        assert stop(process) == 0
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL was stopped"

    process, _ = start(data_dir, port, kafka_port, tmp_path / "second.log")
    try:
        assert call(f"{base}/api/v1/admin/handlers", admin)[0] == 200, "the first token still works"
    finally:
        assert stop(process) == 0
