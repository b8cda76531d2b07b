"""The worker's heartbeat and what ``ticketing health`` makes of it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from workers.cli import run
from workers.health import beat, heartbeat_problem, keep_beating


def test_a_fresh_heartbeat_is_healthy_and_an_old_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "worker.alive"
    assert heartbeat_problem(path) == f"no heartbeat at {path} yet"
    beat(path)
    assert heartbeat_problem(path) is None
    stale = time.time() - 31
    path.write_text(f"{stale}\n")
    problem = heartbeat_problem(path)
    assert problem is not None
    assert "31s old" in problem
    path.write_text("garbage")
    assert heartbeat_problem(path) == f"{path} holds no heartbeat"


def test_no_heartbeat_while_a_part_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "worker.alive"
    stop = threading.Event()

    def after_one_round(problem: str | None) -> Callable[[], str | None]:
        def check() -> str | None:
            stop.set()
            return problem

        return check

    keep_beating(path, after_one_round("not running: platform consumer"), stop)
    assert not path.exists()
    stop.clear()
    keep_beating(path, after_one_round(None), stop)
    assert heartbeat_problem(path) is None


def test_the_health_command_reads_the_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "worker.alive"
    monkeypatch.setenv("TICKETING_WORKER_HEARTBEAT_FILE", str(path))
    assert run(["health", "worker"]) == 1
    assert "no heartbeat" in capsys.readouterr().err
    beat(path)
    assert run(["health", "worker"]) == 0
    old = time.time() - 60
    os.utime(path, (old, old))  # the file's time does not count, only what it says
    assert run(["health", "worker", "--max-age", "0"]) == 1
    monkeypatch.delenv("TICKETING_WORKER_HEARTBEAT_FILE")
    assert run(["health", "worker"]) == 2
    assert run(["health", "api", "--url", "http://127.0.0.1:9/healthz"]) == 1


def test_kafka_noise_about_a_socket_closed_on_purpose_is_not_an_error() -> None:
    from application.logs import ClosedSocketNoise

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(
            "kafka.net.transport", logging.ERROR, __file__, 1, message, None, None
        )

    noise = record("<KafkaTCPTransport [none] (closed)>: Error receiving network data")
    assert ClosedSocketNoise().filter(noise) is False  # DEBUG, below the kafka loggers' level
    assert noise.levelname == "DEBUG"
    real = record("<KafkaTCPTransport [127.0.0.1:9092]>: socket disconnected")
    assert ClosedSocketNoise().filter(real) is True
    assert real.levelname == "ERROR"
