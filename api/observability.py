"""Request ids, one JSON log line per request, and Prometheus request and command metrics."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "ticketing_http_requests_total", "HTTP requests", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "ticketing_http_request_duration_seconds", "HTTP request latency", ["method", "endpoint"]
)
COMMANDS = Counter(
    "ticketing_commands_total", "Ticket commands by type and outcome", ["command", "outcome"]
)
log = logging.getLogger("ticketing.http")
# label values come from a fixed set: a client inventing methods must not grow the metrics
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# each label set's children, looked up once: ``labels()`` takes a lock and checks its
# arguments on every call (a tenth of a request's after-request work, issue 26); bounded,
# as the label values are (methods, routes, statuses)
_counted: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _series(method: str, endpoint: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and latency histogram of one label set."""
    series = _counted.get((method, endpoint, status))
    if series is None:
        series = (
            REQUESTS.labels(method, endpoint, str(status)),
            LATENCY.labels(method, endpoint),
        )
        _counted[(method, endpoint, status)] = series
    return series


def _command_name() -> str | None:
    if request.method != "POST" or request.blueprint != "tickets":
        return None
    return (request.endpoint or "").rsplit(".", 1)[-1]


def instrument(app: Flask) -> None:
    """Time, count and log every request; tag it with an ``X-Request-Id``."""

    @app.before_request
    def start() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        method = request.method if request.method in METHODS else "OTHER"
        count, latency = _series(method, endpoint, response.status_code)
        count.inc()
        latency.observe(elapsed)
        command = _command_name()
        if command:
            outcome = "ok" if response.status_code < 400 else str(response.status_code)
            COMMANDS.labels(command, outcome).inc()
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if not log.isEnabledFor(logging.INFO):
            return response
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "fields": {
                    "request_id": g.get("request_id"),
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "account_id": getattr(g.get("actor"), "account_id", None),
                }
            },
        )
        return response
