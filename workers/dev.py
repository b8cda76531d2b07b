"""``ticketing dev``: the whole service on one machine with no set-up.

Starts (or re-attaches to) an embedded PostgreSQL in ``<data-dir>/postgres`` and a
Kafka-compatible broker (Tansu, topics in memory, created at start), writes the instance's
settings to ``<data-dir>/ticketing.env`` (kept across restarts, so tokens stay valid), runs
the API and the worker as child processes, prints the URLs and an admin token, and stops
everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from application.config import ENV_FILE_VARIABLE, Settings
from application.database import ensure_database
from application.tokens import issue_token
from workers.embedded_broker import EmbeddedBroker
from workers.embedded_postgres import EmbeddedPostgres
from workers.kafka_clients import ensure_topics

log = logging.getLogger(__name__)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
ADMIN_TOKEN_TTL = 12 * 3600


@dataclass(frozen=True)
class DevOptions:
    """What ``ticketing dev`` was asked for."""

    port: int
    kafka_port: int
    data_dir: Path


def write_env_file(path: Path, database_url: str, kafka_bootstrap: str) -> dict[str, str]:
    """Settings of this instance; an existing file's secret and assignee are kept."""
    previous = (
        {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
    )
    settings = {
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_JWT_SECRET": previous.get("TICKETING_JWT_SECRET") or secrets.token_urlsafe(32),
        "TICKETING_DEFAULT_ASSIGNEE": previous.get("TICKETING_DEFAULT_ASSIGNEE") or "admin",
        "TICKETING_KAFKA_BOOTSTRAP": kafka_bootstrap,
        # the embedded broker takes about session_timeout / 2 to let a consumer join
        "TICKETING_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS": "3000",
    }
    lines = ["# written by `ticketing dev`; TICKETING_ENV_FILE=<this file> points commands here"]
    lines += [f"{key}='{value}'" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return settings


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - our own loopback URL
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"the API did not answer on {url} within {START_TIMEOUT:.0f}s")


def _spawn(env: dict[str, str], *arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "workers.cli", *arguments], env=env)  # noqa: S603


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def run_dev(options: DevOptions) -> int:
    """Run until interrupted; returns the exit status."""
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres = EmbeddedPostgres(data_dir / "postgres")
    broker = EmbeddedBroker(options.kafka_port, data_dir / "broker.log")
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        postgres.start()
        database_url = postgres.url("ticketing")
        ensure_database(database_url)
        bootstrap = broker.start()
        env_file = data_dir / "ticketing.env"
        settings = write_env_file(env_file, database_url, bootstrap)
        topics = Settings.from_env(settings).all_topics
        ensure_topics(bootstrap, topics)
        url = f"http://127.0.0.1:{options.port}"
        child_env = {**os.environ, ENV_FILE_VARIABLE: str(env_file), **settings}
        api = _spawn(child_env, "serve", "--bind", f"127.0.0.1:{options.port}", "--workers", "1")
        children.append(api)
        children.append(_spawn(child_env, "worker"))
        _wait_until_healthy(url, api)
        token = issue_token(
            settings["TICKETING_JWT_SECRET"],
            settings["TICKETING_DEFAULT_ASSIGNEE"],
            "admin",
            ADMIN_TOKEN_TTL,
            "Admin",
        )
        print(
            f"ticketing dev is running (Ctrl-C stops it)\n"
            f"  API:          {url}/api/v1\n"
            f"  docs:         {url}/api/v1/docs\n"
            f"  OpenAPI:      {url}/api/v1/openapi.json\n"
            f"  health:       {url}/healthz  {url}/readyz  {url}/metrics\n"
            f"  Kafka:        {bootstrap}  (topics: {', '.join(topics)})\n"
            f"  data folder:  {data_dir}\n"
            f"  settings:     {env_file}  (TICKETING_ENV_FILE={env_file} ticketing ...)\n"
            f"  admin token:  {token}",
            flush=True,
        )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        if not stopping:
            log.error("a child process exited: %s", [child.returncode for child in children])
            return 1
        return 0
    finally:
        for child in children:
            _stop(child)
        broker.stop()
        postgres.stop()
        print("ticketing dev stopped", flush=True)
