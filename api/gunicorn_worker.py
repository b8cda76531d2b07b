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
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers.gasgi import ASGIWorker

from api.asgi import SOCKET_EXTENSION
from api.problems import problem_document, status_title

PROBLEM = "application/problem+json"
SWITCH_INTERVAL = 0.001  # seconds
HEADERS_WITHIN = 10.0  # seconds from connecting to a request's last header (CONTRACT.md §2.0)
BODY_RATE = 1024  # bytes a second a body must average...
BODY_GRACE = 10.0  # ...once this many seconds have passed since its headers


def head(status: int, length: int, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The status line and headers of a problem+json answer that closes the connection."""
    reason = status_title(status)
    extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
    return (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM}\r\n"
        f"Content-Length: {length}\r\nX-Content-Type-Options: nosniff\r\n"
        f"Cache-Control: no-store\r\n{extra}\r\n"
    ).encode("latin-1")


class ProblemProtocol(ASGIProtocol):  # type: ignore[misc]
    """gunicorn's HTTP protocol whose own error answers are problem+json documents, and which
    drops a client that holds a connection without sending (CONTRACT.md §2.0): a request's
    headers must arrive within ``HEADERS_WITHIN`` seconds of the connection (later requests
    on it have gunicorn's keep-alive timeout), and its body at ``BODY_RATE`` bytes a second
    at least once ``BODY_GRACE`` seconds have passed. On the event loop, such a client costs
    nobody else anything meanwhile; the limits only end what would otherwise never end."""

    def connection_made(self, transport: Any) -> None:
        """Start the clock on the first request's headers."""
        super().connection_made(transport)
        self._slow_timer: Any = self.worker.loop.call_later(
            HEADERS_WITHIN, self._too_slow, "the request's headers did not arrive in time"
        )
        self._body_started = 0.0
        self._body_received = 0

    def _on_headers_complete(self) -> Any:
        self._slow_timer.cancel()
        self._body_started = self.worker.loop.time()
        self._body_received = 0
        self._slow_timer = self.worker.loop.call_later(1.0, self._check_body_rate)
        return super()._on_headers_complete()

    def _on_body(self, chunk: bytes) -> None:
        self._body_received += len(chunk)
        super()._on_body(chunk)

    def _on_message_complete(self) -> None:
        self._slow_timer.cancel()
        super()._on_message_complete()

    def _check_body_rate(self) -> None:
        if self._closed:
            return
        elapsed = self.worker.loop.time() - self._body_started
        if elapsed > BODY_GRACE and self._body_received < BODY_RATE * elapsed:
            self._too_slow("the request's body arrived slower than 1 KiB/s")
            return
        self._slow_timer = self.worker.loop.call_later(1.0, self._check_body_rate)

    def _too_slow(self, why: str) -> None:
        if self._closed:
            return
        self.log.info("dropped a slow client: %s", why)
        self._send_error_response(408, why)
        self._close_transport()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clocks with the connection."""
        timer = getattr(self, "_slow_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def _build_http_scope(self, request: Any, sockname: Any, peername: Any) -> dict[str, Any]:
        """gunicorn's scope, with the connection's socket for a stream to bound its send
        buffer by (``api.streams``)."""
        scope: dict[str, Any] = super()._build_http_scope(request, sockname, peername)
        if self.transport is not None:
            extensions = scope.setdefault("extensions", {})
            extensions[SOCKET_EXTENSION] = self.transport.get_extra_info("socket")
        return scope

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
