"""Slow and idle clients hold nobody up (CONTRACT.md §2.0; issue 23): ``ticketing serve`` as a
subprocess, 300 connections that send a request's headers a line every 2 s and 300 that send
nothing, while a probe's requests each answer within 1 s; then the server has dropped them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from application.tokens import issue_token
from tests.e2e.dev_support import Served, call, serving

SECRET = "slow-clients-secret-long-enough-for-hs256-0123456789abcdef"
SLOW, IDLE = 300, 300


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker: str
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving(folder, database_url, broker, SECRET, 2) as server:
        yield server


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server ended the connection (an answer and EOF, or a reset)."""
    sock.settimeout(0.5)
    try:
        while chunk := sock.recv(4096):
            del chunk
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_slow_and_idle_connections_delay_no_one_and_are_dropped(served: Served) -> None:
    slow = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(SLOW)]
    idle = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(IDLE)]
    stop = threading.Event()

    def trickle() -> None:  # one header line every 2 s on each slow connection
        for sock in slow:
            sock.sendall(b"GET /api/v1/me HTTP/1.1\r\n")
        while not stop.wait(2):
            for sock in slow:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    continue

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    token = issue_token(SECRET, "probe", "user")
    slowest = 0.0
    try:
        for _ in range(40):  # about 8 s of probing while they hold their connections
            started = time.monotonic()
            status, _ = call(f"{served.api}/me", token, timeout=5)
            elapsed = time.monotonic() - started
            assert status == 200
            slowest = max(slowest, elapsed)
            time.sleep(0.2)
        assert slowest < 1.0, f"a probe waited {slowest:.2f} s"
        time.sleep(4)  # past the 10 s the headers had
        dropped = sum(closed_by_server(sock) for sock in slow + idle)
        assert dropped == SLOW + IDLE, f"{dropped} of {SLOW + IDLE} dropped"
    finally:
        stop.set()
        sender.join(10)
        for sock in slow + idle:
            sock.close()


def test_a_body_slower_than_a_kibibyte_a_second_is_dropped(served: Served) -> None:
    token = issue_token(SECRET, "trickler", "user")
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(
            f"POST /api/v1/email-verifications HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
        )
        started = time.monotonic()
        answer = b""
        sock.settimeout(1)
        while time.monotonic() - started < 20:
            try:
                sock.sendall(b" " * 100)  # 100 bytes a second
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer
    assert 10 <= took < 15
