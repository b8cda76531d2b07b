"""Every error as ``application/problem+json`` (RFC 9457), whatever raised it."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, json
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from api.auth import Unauthenticated
from application.database import DeadlineExceeded
from application.errors import (
    AttachmentDamaged,
    AttachmentNotFound,
    CannedReplyNotFound,
    Contention,
    HandlerNotFound,
    IdempotencyKeyReused,
    RateLimited,
    TicketNotFound,
    VersionMismatch,
)
from domain.attachments import TooLarge, UnsupportedFormat
from domain.errors import InvalidTransition, NotAllowed, ValidationFailed

log = logging.getLogger(__name__)
PROBLEM_TYPE = "about:blank"


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail, **extra}
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ticketing"'
    return response


def status_title(status: int) -> str:
    """The status's phrase ("Request Timeout"), or "Error" for a code HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_document(status: int, detail: str) -> bytes:
    """A problem+json document for answers written outside Flask (the HTTP server's own)."""
    title = status_title(status)
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail or title}
    return json.dumps(body).encode()


def field_errors(messages: Any, field: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as the contract's ``{field: [messages]}``: a nested
    object's fields become ``parent.child``, a list item's messages its list's own."""
    if isinstance(messages, list | tuple):
        return {field: [str(message) for message in messages]}
    if not isinstance(messages, dict):
        return {field: [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, nested in messages.items():
        name = str(key)
        # an item of a list field reports to the field; a nested field is parent.child
        target = field if name.isdigit() and field else f"{field}.{name}".lstrip(".")
        for flat_field, flat_messages in field_errors(nested, target).items():
            flat.setdefault(flat_field, []).extend(flat_messages)
    return flat


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and messages:
        # webargs nests messages under the location ("json", "query"); callers want fields
        errors: dict[str, list[str]] = {}
        for location_errors in messages.values():
            errors.update(field_errors(location_errors))
        return problem(
            422, "Unprocessable Content", "the request has invalid fields", errors=errors
        )
    response = problem(status, error.name, error.description or error.name)
    for header, value in getattr(error, "get_headers", lambda: [])():
        if header.lower() not in ("content-type", "content-length"):
            response.headers[header] = value
    return response


def _store_unavailable(error: Exception) -> Response:
    log.error("the event store is unavailable: %s", error)
    response = problem(503, "Service Unavailable", "the database is unavailable; try again shortly")
    response.headers["Retry-After"] = "5"
    return response


def _attachment_damaged(error: AttachmentDamaged) -> Response:
    log.error("attachment %s: stored bytes differ from the recorded sha256; not served", error)
    return problem(
        502,
        "Bad Gateway",
        "the stored file is not the one that was attached (its digest differs); it is not "
        "served: tell the operators",
    )


def _rate_limited(error: RateLimited) -> Response:
    response = problem(429, "Too Many Requests", str(error))
    response.headers["Retry-After"] = str(error.retry_after)
    response.headers.update(getattr(error, "headers", {}))
    return response


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Internal Server Error", "the server failed; the error was logged")


def register(app: Flask) -> None:
    """Map every refusal to its status; register after flask-smorest's own handler."""
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Unauthenticated, lambda e: problem(401, "Unauthorized", str(e)))
    app.register_error_handler(NotAllowed, lambda e: problem(403, "Forbidden", str(e)))
    app.register_error_handler(
        TicketNotFound, lambda e: problem(404, "Not Found", "no such ticket")
    )
    app.register_error_handler(
        HandlerNotFound, lambda e: problem(404, "Not Found", "no such handler")
    )
    app.register_error_handler(
        CannedReplyNotFound, lambda e: problem(404, "Not Found", "no such canned reply")
    )
    app.register_error_handler(InvalidTransition, lambda e: problem(409, "Conflict", str(e)))
    app.register_error_handler(
        Contention, lambda e: problem(409, "Conflict", "too many concurrent changes; try again")
    )
    app.register_error_handler(
        VersionMismatch,
        lambda e: problem(412, "Precondition Failed", f"{e}; reload it and try again"),
    )
    app.register_error_handler(
        ValidationFailed,
        lambda e: problem(422, "Unprocessable Content", str(e), errors=e.errors),
    )
    app.register_error_handler(
        IdempotencyKeyReused,
        lambda e: problem(
            422,
            "Unprocessable Content",
            "this Idempotency-Key was used with a different request",
            errors={"Idempotency-Key": ["was used with a different request"]},
        ),
    )
    app.register_error_handler(RateLimited, _rate_limited)
    app.register_error_handler(
        AttachmentNotFound, lambda e: problem(404, "Not Found", "no such attachment")
    )
    app.register_error_handler(AttachmentDamaged, _attachment_damaged)
    app.register_error_handler(
        UnsupportedFormat, lambda e: problem(415, "Unsupported Media Type", str(e))
    )
    app.register_error_handler(TooLarge, lambda e: problem(413, "Content Too Large", str(e)))
    unavailable_errors = (
        OperationalError, InterfaceError, PoolTimeout, psycopg.OperationalError, DeadlineExceeded
    )  # fmt: skip
    for unavailable in unavailable_errors:
        app.register_error_handler(unavailable, _store_unavailable)
    app.register_error_handler(Exception, _unexpected)
