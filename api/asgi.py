"""The HTTP server's application: live streams on the event loop, everything else on threads.

``ticketing serve`` runs gunicorn's asyncio worker (``api.gunicorn_worker``). Each connection
costs the event loop a little memory, not a thread, while it sends its request, idles between
requests, or holds a stream open (CONTRACT.md §6.3: streams never hold a thread of the command
path). A request is handed to the Flask application on a thread of a bounded pool only once it
has fully arrived, so slow senders delay nobody. ``GET /api/v1/me/stream`` is served on the
loop itself (``api.streams``).
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from api.problems import problem_document

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiHandler = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_LIMIT = 48 * 1024 * 1024  # five attachments of 8 MiB and the multipart around them
INLINE_BODY = 1024 * 1024  # a response up to this size is collected on the thread in one go
ARRIVED = "ticketing.arrived"  # environ: time.monotonic() when the request was admitted
SOCKET_EXTENSION = "ticketing.socket"  # scope["extensions"]: the connection's socket
REQUEST_DEADLINE = 4.5  # seconds a request may wait on the database; then 503, within 5 s
QUERY_TIME = 1.0  # of the deadline, kept for the query after a wait for a position


class BodyTooLarge(Exception):
    """The request's body is larger than any request of this API."""


async def read_body(receive: Receive, limit: int = BODY_LIMIT) -> bytes | None:
    """The request's whole body; None if the client went away first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP request whose body has arrived."""
    path = scope["path"].encode("utf-8").decode("latin-1")
    query = scope.get("query_string", b"")
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": path,
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": (raw_path + (b"?" + query if query else b"")).decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif name not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):  # the body has arrived whole
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ.update(scope.get("environ", {}))  # what the layers before the threads found out
    return environ


class _Response:
    """What the WSGI application answered: status, headers, and the body so far."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.rest: Iterator[bytes] | None = None  # a large body, read chunk by chunk
        self.close: Callable[[], None] = lambda: None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        self.status = int(status.split(" ", 1)[0])
        # as the application wrote them: clients have read these names for years
        self.headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return self.chunks.append


def _call(wsgi_app: WSGIApplication, environ: dict[str, Any]) -> _Response:
    """Run the WSGI application on this thread; collect a small body whole."""
    response = _Response()
    result: Iterable[bytes] = wsgi_app(environ, response.start_response)
    close = getattr(result, "close", None)
    iterator = iter(result)
    size = 0
    try:
        for chunk in iterator:
            if chunk:
                response.chunks.append(chunk)
                size += len(chunk)
            if size > INLINE_BODY:
                response.rest = iterator
                break
    except BaseException:
        if close is not None:
            close()
        raise
    if response.rest is None:
        if close is not None:
            close()
    elif close is not None:
        response.close = close
    return response


def _next_chunk(body: Iterator[bytes]) -> bytes | None:
    return next(body, None)


class WsgiOnThreads:
    """An ASGI application that runs a WSGI one on a bounded pool of threads, once each
    request's body has fully arrived."""

    def __init__(self, wsgi_app: WSGIApplication, threads: int) -> None:
        self.wsgi_app = wsgi_app
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            await send_problem(send, 413, "the request body is larger than any this API takes")
            return
        if body is None:
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(
            self.pool, _call, self.wsgi_app, wsgi_environ(scope, body)
        )
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.headers}
        )
        try:
            for chunk in response.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            while response.rest is not None:
                more = await loop.run_in_executor(self.pool, _next_chunk, response.rest)
                if more is None:
                    break
                await send({"type": "http.response.body", "body": more, "more_body": True})
        finally:
            if response.rest is not None:
                await loop.run_in_executor(self.pool, response.close)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_problem(
    send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with a problem+json document."""
    body = problem_document(status, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TicketingAsgi:
    """Routes live streams to the event loop and every other request to the threads."""

    def __init__(self, requests: AsgiHandler, streams: dict[str, AsgiHandler]) -> None:
        self.requests = requests
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        stream = self.streams.get(scope["path"])
        if stream is not None and scope["method"] == "GET":
            await stream(scope, receive, send)
        else:
            await self.requests(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
