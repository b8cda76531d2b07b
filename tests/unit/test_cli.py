"""The command line: token minting and the server's arguments (the other commands need
servers and live in integration)."""

from __future__ import annotations

import sys
from pathlib import Path

import jwt
import pytest

from workers.cli import run

SECRET = "cli-secret-of-at-least-thirty-two-bytes"


def test_token_is_signed_with_the_configured_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TICKETING_JWT_SECRET", SECRET)
    assert run(["token", "--sub", "alice", "--role", "auditor", "--ttl", "60"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("alice", "auditor")
    assert claims["exp"] - claims["iat"] == 60


def test_token_without_a_secret_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TICKETING_JWT_SECRET", raising=False)
    assert run(["token", "--sub", "alice"]) == 2
    assert "TICKETING_JWT_SECRET" in capsys.readouterr().err


def test_env_file_is_loaded_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env_file = tmp_path / "ticketing.env"
    env_file.write_text(f"TICKETING_JWT_SECRET={SECRET}\n")
    monkeypatch.delenv("TICKETING_JWT_SECRET", raising=False)
    monkeypatch.setenv("TICKETING_ENV_FILE", str(env_file))
    assert run(["token", "--sub", "bob"]) == 0
    assert jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])["sub"] == "bob"


def test_serve_recycles_api_processes_after_a_bounded_number_of_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What caches and the allocator keep grows no further than one process's lifetime."""
    seen: list[list[str]] = []
    monkeypatch.setattr("gunicorn.app.wsgiapp.run", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["ticketing"])
    monkeypatch.setenv("TICKETING_WEB_MAX_REQUESTS", "500")
    assert run(["serve"]) == 0
    monkeypatch.delenv("TICKETING_WEB_MAX_REQUESTS")
    assert run(["serve"]) == 0
    limited, default = seen
    assert limited[limited.index("--max-requests") + 1] == "500"
    assert limited[limited.index("--max-requests-jitter") + 1] == "50"
    assert default[default.index("--max-requests") + 1] == "20000"


def test_serve_runs_libuv_s_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event loop parses every request, hands it to a thread and writes its answer:
    uvloop, pinned and installed with the service, does that cheaper (docs/benchmarks.md)."""
    seen: list[list[str]] = []
    monkeypatch.setattr("gunicorn.app.wsgiapp.run", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["ticketing"])
    assert run(["serve"]) == 0
    (argv,) = seen
    assert argv[argv.index("--asgi-loop") + 1] == "uvloop"
    import uvloop  # installed with the service, not an optional extra

    loop = uvloop.new_event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
