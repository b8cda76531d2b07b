"""``ticketing dev`` as a user runs it: a subprocess on a free loopback port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dotenv import dotenv_values

from application.bootstrap import build_app
from application.config import Settings
from application.tokens import issue_token
from domain.actors import Actor, Role
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 90.0


def start(data_dir: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``ticketing dev`` and wait (bounded) for the admin token it prints."""
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "workers.cli",
            "dev",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
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
    return process.wait(timeout=30)


def get(url: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url)  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def alice_actor() -> Actor:
    return Actor("alice", Role.USER, "Alice")


def wait_for_list(url: str, token: str) -> list[str]:
    """Titles in a list, once it shows anything (bounded: the worker is another process)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, page = get(url, token)
        titles = [item["title"] for item in page["items"]]  # type: ignore[index]
        if titles:
            return titles
        time.sleep(0.2)
    return []


def test_dev_runs_everything_and_restarts_on_the_same_data(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"

    process, token = start(data_dir, port, tmp_path / "first.log")
    try:
        assert get(f"{base}/readyz")[0] == 200
        status, handlers = get(f"{base}/api/v1/admin/handlers", token)
        assert (status, handlers) == (200, [])
        settings = dotenv_values(data_dir / "ticketing.env")
        app = build_app(Settings.from_env({k: v for k, v in settings.items() if v is not None}))
        try:
            app.member_joined("ws-e2e", "alice", "e2e-1")
            alice = issue_token(str(settings["TICKETING_JWT_SECRET"]), "alice")
            app.submit(alice_actor(), "ws-e2e", ticket_type="bug", title="e2e", description="d")
        finally:
            app.close()
        assert wait_for_list(f"{base}/api/v1/me/tickets", alice) == ["e2e"], "the worker projects"
    finally:
        assert stop(process) == 0
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL was stopped"

    process, _ = start(data_dir, port, tmp_path / "second.log")
    try:
        assert get(f"{base}/api/v1/admin/handlers", token)[0] == 200, "the first token still works"
    finally:
        assert stop(process) == 0
