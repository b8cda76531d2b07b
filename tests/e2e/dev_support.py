"""``ticketing dev`` as a subprocess on free loopback ports, and what tests need of it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from dotenv import dotenv_values
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from application.tokens import issue_token
from workers.embedded_broker import free_port

# the per-account limits of users (CONTRACT.md §2.0) are off for these tests' workloads; the
# limits have tests of their own (tests/api/test_limits.py)
UNLIMITED = {
    "TICKETING_LIMIT_SUBMISSIONS_PER_MINUTE": "0",
    "TICKETING_LIMIT_MESSAGES_PER_MINUTE": "0",
    "TICKETING_LIMIT_UPLOAD_MIB_PER_HOUR": "0",
}
ROOT = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 90.0
WAIT = 60.0
T = TypeVar("T")


def until(attempt: Callable[[], T], done: Callable[[T], bool], timeout: float = WAIT) -> T:
    """Repeat ``attempt`` until ``done(result)`` (bounded); the last result."""
    deadline = time.monotonic() + timeout
    result = attempt()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = attempt()
    return result


def call(
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """One HTTP request; (status, parsed JSON body). A connection failure is status 0."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data)  # noqa: S310 - loopback only
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            if "json" not in (response.headers.get("Content-Type") or ""):
                return response.status, raw  # a file: CSV, XLSX, an attachment
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, raw.decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, None


class Dev:
    """One ``ticketing dev`` on a data folder; start and stop it as often as a test needs."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port, self.kafka_port = free_port(), free_port()
        self.env = {**os.environ, **UNLIMITED, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path = data_dir.parent / "dev-0.log"
        self.admin = ""
        self._runs = 0

    @property
    def base(self) -> str:
        """The service's URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        """The API's URL."""
        return f"{self.base}/api/v1"

    def start(self) -> None:
        """Start and wait (bounded) for the admin token it prints."""
        self._runs += 1
        self.log = self.data_dir.parent / f"dev-{self._runs}.log"
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "workers.cli", "dev", "--port", str(self.port),
             "--kafka-port", str(self.kafka_port), "--data-dir", str(self.data_dir)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=self.env,
            process_group=0,  # as a shell runs a command: Ctrl-C goes to its group
        )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"admin token:\s+(\S+)", self.output())
            if found:
                self.admin = found[1]
                return
            time.sleep(0.2)
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)
        raise AssertionError(f"ticketing dev did not start:\n{self.output()}")

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Ask it to stop (as Ctrl-C does, unless told otherwise); its exit status."""
        assert self.process is not None
        self.process.send_signal(signum)
        status = self.process.wait(STOP_TIMEOUT)
        self.process = None
        return status

    def kill(self) -> None:
        """Stop it if a test left it running (never raises)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.process = None

    def output(self) -> str:
        """What this run printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pid(self, name: str) -> int:
        """The newest process id dev logged for ``name`` ("worker", "API", "PostgreSQL",
        "Kafka broker")."""
        pattern = rf"{re.escape(name)} (?:started|running|restarted) \(pid (\d+)"
        found = re.findall(pattern, self.output())
        assert found, f"no pid logged for {name}"
        return int(found[-1])

    @property
    def settings(self) -> dict[str, str]:
        """What dev wrote to ``ticketing.env``."""
        values = dotenv_values(self.data_dir / "ticketing.env")
        return {key: value for key, value in values.items() if value is not None}

    def token(self, sub: str, role: str = "user") -> str:
        """A token signed with the instance's secret."""
        return issue_token(self.settings["TICKETING_JWT_SECRET"], sub, role, name=sub.title())

    def producer(self) -> KafkaProducer:
        """A producer on the instance's broker, as a platform service would have."""
        bootstrap = self.settings["TICKETING_KAFKA_BOOTSTRAP"]
        return KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=10_000)

    def emit(self, kind: str, event_id: str | None = None, **data: str) -> str:
        """Publish one platform event and wait for the broker's ack; returns its event id."""
        topic = "platform.accounts" if kind == "AccountCancelled" else "platform.workspaces"
        event_id = event_id or str(uuid4())
        message = {"event_id": event_id, "type": kind, "occurred_at": "2026-11-29T00:00:00Z",
                   "data": data}  # fmt: skip
        producer = self.producer()
        try:
            key = (data.get("workspace_id") or data["account_id"]).encode()
            producer.send(topic, key=key, value=json.dumps(message).encode()).get(timeout=30)
        finally:
            producer.close(timeout=5)
        return event_id

    def ticket_events(self, until_count: int = 0, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Every message on tickets.events from the start (waiting, bounded, for at least
        ``until_count`` of them)."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings["TICKETING_KAFKA_BOOTSTRAP"], enable_auto_commit=False
        )
        try:
            partitions = [
                TopicPartition("tickets.events", p)
                for p in sorted(consumer.partitions_for_topic("tickets.events") or [])
            ]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            found: list[dict[str, Any]] = []
            deadline = time.monotonic() + timeout
            quiet_until = time.monotonic() + 2
            while time.monotonic() < deadline:
                batches = consumer.poll(timeout_ms=300).values()
                for batch in batches:
                    found += [json.loads(record.value) for record in batch]
                if batches:
                    quiet_until = time.monotonic() + 2
                if len(found) >= until_count and time.monotonic() >= quiet_until:
                    break
            return found
        finally:
            consumer.close()

    def cli(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A ``ticketing`` command on this instance (through its ``ticketing.env``)."""
        return subprocess.run(  # noqa: S603
            [sys.executable, "-m", "workers.cli", *arguments],
            env={**self.env, "TICKETING_ENV_FILE": str(self.data_dir / "ticketing.env")},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


class Served:
    """``ticketing serve`` as a subprocess on a free loopback port (stopped by ``stop``)."""

    def __init__(self, env: dict[str, str], log: Path, *arguments: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/api/v1"
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "workers.cli", "serve", "--bind", f"127.0.0.1:{self.port}",
             *arguments],
            env={**os.environ, **UNLIMITED, **env}, cwd=ROOT, stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        if until(lambda: call(f"{self.url}/healthz"), lambda r: r[0] == 200)[0] != 200:
            self.stop()
            raise AssertionError(f"ticketing serve did not start:\n{log.read_text()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


@contextmanager
def serving(
    folder: Path, database_url: str, broker: str, secret: str, workers: int, **env: str
) -> Iterator[Served]:
    """``ticketing serve`` with ``workers`` processes on the test database and broker, for the
    ``with`` block (``env``: more ``TICKETING_*`` settings)."""
    settings = {
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_JWT_SECRET": secret,
        "TICKETING_KAFKA_BOOTSTRAP": broker,
        **env,
    }
    server = Served(settings, folder / "serve.log", "--workers", str(workers))
    try:
        yield server
    finally:
        server.stop()


def error_lines(text: str) -> list[str]:
    """Log lines at ERROR level, and tracebacks."""
    return [line for line in text.splitlines() if '"level": "ERROR"' in line or "Traceback" in line]


def kill(pid: int, signum: int = signal.SIGKILL) -> None:
    """Signal one process by its id."""
    os.kill(pid, signum)
