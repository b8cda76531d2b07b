"""The Flask application factory."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from api import (
    attachments,
    audit,
    canned_replies,
    console,
    handlers,
    limits,
    lists,
    me,
    notifications,
    presence,
    problems,
    reports,
    service,
    tickets,
    verifications,
)
from api.asgi import ARRIVED, REQUEST_DEADLINE
from api.auth import current_actor
from api.codec import OrjsonProvider
from api.observability import instrument
from api.openapi import OperationsPlugin, TicketingApi
from api.parsing import guard_requests, read_ids_in_paths
from api.uploads import TicketingRequest
from application.bootstrap import build_app, read_models
from application.config import ConfigError, Settings
from application.database import deadline
from application.tickets import TicketingApp
from projections.inbox import Inbox
from projections.queries import READ_YOUR_WRITES_TIMEOUT, TicketLists
from projections.report_queries import Reports

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

API_PREFIX = "/api/v1"
MINIMUM_DEADLINE = 0.5  # seconds a request has on a thread whatever it waited before
PUBLIC_PATHS = (f"{API_PREFIX}/ticket-types", f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs")
SERVICE_PATHS = ("/healthz", "/readyz", "/metrics")
JSON_BODY_LIMIT = 1024 * 1024


class _DatabaseDeadline:
    """WSGI middleware: every database wait of a request ends ``REQUEST_DEADLINE`` after it
    arrived (``ARRIVED``, when it waited on the event loop first), so a stalled database means
    a 503, never a hung request (CONTRACT.md §2). A body streamed after the view returned
    bounds its own reads (see ``api.lists``)."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        now = time.monotonic()
        waited = now - float(environ.get(ARRIVED, now))
        with deadline(max(REQUEST_DEADLINE - waited, MINIMUM_DEADLINE)):
            return self.wsgi_app(environ, start_response)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the HTTP API.

    ``config`` carries ``SETTINGS`` (read from the environment by the entry point,
    ``api/wsgi.py``, not here) and may carry ``TICKETING_APP`` (an application already built,
    as tests do) and ``READ_YOUR_WRITES_TIMEOUT`` (seconds, default 5).
    """
    config = dict(config or {})
    settings: Settings | None = config.pop("SETTINGS", None)
    if settings is None:
        raise ConfigError("create_app needs SETTINGS; the entry point reads them")
    if not settings.jwt_secret:
        raise ConfigError("TICKETING_JWT_SECRET must be set")
    ticketing: TicketingApp = config.pop("TICKETING_APP", None) or build_app(settings)

    app = Flask("ticketing")
    app.request_class = TicketingRequest
    app.json = OrjsonProvider(app)
    app.config.update(
        API_TITLE="Ticketing",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
        MAX_CONTENT_LENGTH=JSON_BODY_LIMIT,
        JWT_SECRET=settings.jwt_secret,
        METRICS_PORT=settings.metrics_bind.rpartition(":")[2] if settings.metrics_bind else None,
        KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
    )
    app.config.update(config)
    app.extensions["ticketing"] = ticketing
    view = read_models(ticketing)
    cursor_key = hmac.new(settings.jwt_secret.encode(), b"list cursors", hashlib.sha256).digest()
    wait = float(config.get("READ_YOUR_WRITES_TIMEOUT", READ_YOUR_WRITES_TIMEOUT))
    app.extensions["ticket_lists"] = TicketLists(
        view, cursor_key, wait, ticketing.store.clock.now, ticketing.store.head
    )
    app.extensions["read_models"] = view
    app.extensions["reports"] = Reports(view)
    app.extensions["inbox"] = Inbox(ticketing.store.datastore)
    limits.install(app, settings)

    read_ids_in_paths(app)
    console.register(app)  # before the API: it names where Swagger UI's assets are
    api = TicketingApi(app, spec_kwargs={"extra_plugins": [OperationsPlugin()]})
    api.register_blueprint(tickets.blp)
    api.register_blueprint(handlers.blp)
    api.register_blueprint(handlers.targets)
    api.register_blueprint(canned_replies.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(lists.blp)
    api.register_blueprint(me.blp)
    api.register_blueprint(notifications.blp)
    api.register_blueprint(presence.blp)
    api.register_blueprint(verifications.blp)
    api.register_blueprint(attachments.blp)
    app.register_blueprint(service.blp)
    problems.register(app)
    instrument(app)

    app.wsgi_app = _DatabaseDeadline(app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def authenticate() -> None:
        # Before body parsing, so a caller without a valid token learns that first (401).
        if request.path.startswith(API_PREFIX) and not request.path.startswith(PUBLIC_PATHS):
            current_actor()

    @app.after_request
    def answer_headers(response: Response) -> Response:
        # CONTRACT.md §2.0: no answer is sniffed into another type or kept by a cache; a
        # download (an attachment) sets its own, private, caching
        if request.path.startswith(API_PREFIX) or request.path in SERVICE_PATHS:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Cache-Control", "no-store")
        if request.path.startswith(f"{API_PREFIX}/docs"):
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    guard_requests(app, api)
    return app
