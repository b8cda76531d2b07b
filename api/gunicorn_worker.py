"""The gunicorn worker ``ticketing serve`` runs: threaded, and problem+json all the way.

gunicorn answers some requests itself, before the application sees them (a malformed request
line, a URL or headers over its limits, a bad chunked body), and writes those answers as HTML.
CONTRACT.md §2 wants every error as ``application/problem+json``; gunicorn has no hook for
the format of its own answers, so this worker replaces the one function that writes them.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

PROBLEM = "application/problem+json"


def write_problem(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's ``util.write_error``, writing a problem+json document instead of HTML."""
    body = json.dumps(
        {"type": "about:blank", "title": reason, "status": status, "detail": message or reason}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker whose own error answers are problem+json."""

    def init_process(self) -> Any:
        """Install the problem+json writer, then run as gunicorn's threaded worker."""
        util.write_error = write_problem
        return super().init_process()
