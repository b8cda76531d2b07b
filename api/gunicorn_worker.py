"""The gunicorn worker ``ticketing serve`` runs: gunicorn's asyncio worker, problem+json all
the way.

Why asyncio (``docs/architecture.md``, "The HTTP server"): a connection that sends its request
slowly, idles between requests or holds a live stream open costs the event loop some memory,
where a threaded worker would give it a whole thread; the Flask application runs on a pool of
threads once a request has fully arrived (``api.asgi``).

gunicorn answers some requests itself, before the application sees them (a malformed request
line, a URL or headers over its limits), and writes those answers as plain text. CONTRACT.md §2
wants every error as ``application/problem+json``; gunicorn has no hook for the format of its
own answers, so this worker replaces the one method that writes them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers.gasgi import ASGIWorker

from api.problems import problem_document

PROBLEM = "application/problem+json"
SWITCH_INTERVAL = 0.001  # seconds


def head(status: int, length: int, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The status line and headers of a problem+json answer that closes the connection."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
    return (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM}\r\n"
        f"Content-Length: {length}\r\nX-Content-Type-Options: nosniff\r\n"
        f"Cache-Control: no-store\r\n{extra}\r\n"
    ).encode("latin-1")


class ProblemProtocol(ASGIProtocol):  # type: ignore[misc]
    """gunicorn's HTTP protocol whose own error answers are problem+json documents."""

    def _send_error_response(
        self, status: int, message: str, extra_headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        body = problem_document(status, message)
        self._safe_write(head(status, len(body), extra_headers))
        self._safe_write(body)


class ProblemAsgiWorker(ASGIWorker):  # type: ignore[misc]
    """gunicorn's asyncio worker serving with :class:`ProblemProtocol`."""

    def init_process(self) -> Any:
        """Serve with the problem+json protocol, then run as gunicorn's asyncio worker."""
        import gunicorn.workers.gasgi as gasgi

        gasgi.ASGIProtocol = ProblemProtocol
        # the event loop hands requests to threads and writes their answers: let it have the
        # GIL back sooner than Python's default 5 ms, or every answer waits on a busy thread
        sys.setswitchinterval(SWITCH_INTERVAL)
        return super().init_process()
