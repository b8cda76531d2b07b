"""What gunicorn answers by itself is problem+json too (CONTRACT.md §2): ``ticketing serve``
as a subprocess, spoken to over raw sockets where a client library would refuse."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.e2e.dev_support import Served, serving

SECRET = "served-errors-secret-long-enough-for-hs256-0123456789abcdef"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker: str
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving(folder, database_url, broker, SECRET, 1) as server:
        yield server


def exchange(served: Served, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def problem(answer: tuple[int, dict[str, str], bytes], status: int) -> None:
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    document = json.loads(body)
    assert document["status"] == status
    assert document["title"]


def test_a_malformed_request_line_is_400_problem_json(served: Served) -> None:
    problem(exchange(served, b"NONSENSE\r\n\r\n"), 400)


def test_a_url_over_the_limit_is_414_problem_json(served: Served) -> None:
    target = "/api/v1/me/tickets?q=" + "x" * 9000
    problem(exchange(served, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode()), 414)


def test_headers_over_the_limit_are_431_problem_json(served: Served) -> None:
    big = "X-Big: " + "y" * 9000 + "\r\n"
    problem(exchange(served, f"GET /healthz HTTP/1.1\r\nHost: x\r\n{big}\r\n".encode()), 431)
    many = "".join(f"X-{n}: 1\r\n" for n in range(150))
    problem(exchange(served, f"GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()), 431)


def test_a_long_list_url_within_the_limit_is_served(served: Served) -> None:
    target = "/api/v1/ticket-types?" + "&".join(["x=1"] * 1000)  # about 4 KiB
    status, _, _ = exchange(served, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status != 414


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_problem_json(served: Served, chunked: bool) -> None:
    from application.tokens import issue_token

    token = issue_token(SECRET, "alice")
    body = b'{"type": "bug", "title": "' + b"x" * (1024 * 1024 + 10) + b'", "description": "d"}'
    head = (
        "POST /api/v1/workspaces/ws-big/tickets HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Connection: close\r\n"
    )
    if chunked:
        payload = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (body[i : i + 65536] for i in range(0, len(body), 65536))
        )
        raw = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + payload + b"0\r\n\r\n"
    else:
        raw = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    problem(exchange(served, raw), 413)


def test_an_id_with_a_slash_is_addressable_through_the_server(
    served: Served, database_url: str
) -> None:
    from uuid import uuid4

    from application.bootstrap import build_app
    from application.config import Settings
    from application.tokens import issue_token
    from tests.e2e.dev_support import call

    app = build_app(Settings(database_url=database_url, jwt_secret=SECRET))
    try:
        app.platform.member_joined("team/a%2Fb", "slashy", str(uuid4()))
    finally:
        app.store.close()
    body = {"type": "bug", "title": "t", "description": "d"}
    token = issue_token(SECRET, "slashy")
    status, ticket = call(f"{served.api}/workspaces/team%2Fa%252Fb/tickets", token, body)
    assert status == 201, ticket
    assert ticket["workspace_id"] == "team/a%2Fb"
