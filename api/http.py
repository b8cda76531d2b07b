"""Request helpers shared by the blueprints: the application, If-Match, response headers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from api.auth import current_actor
from application.tickets import CommandResult, IdempotencyKey, TicketingApp

IDEMPOTENCY_KEY_MAX = 255


def ticketing() -> TicketingApp:
    """The application this Flask app was built with."""
    app: TicketingApp = current_app.extensions["ticketing"]
    return app


def expected_version() -> int | None:
    """The version an ``If-Match: "<version>"`` header asks for (None: no condition; -1, which
    no ticket has, for a tag that names no version). The command judges it after who may do
    what and with which input (RFC 9110 §13.2.1), so a 412 never answers for a 403, 404 or
    422."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() and len(tag) <= 18 else -1


def version_headers(version: int, position: int | None = None) -> dict[str, str]:
    """``ETag`` for a ticket version, and the store position a command reached."""
    headers = {"ETag": f'"{version}"'}
    if position is not None:
        headers["X-Ticketing-Position"] = str(position)
    return headers


def command_headers(result: CommandResult) -> dict[str, str]:
    """Headers of a command response (``Idempotent-Replayed`` when it repeats an earlier one);
    the version is the caller's (``Ticket.version_for``)."""
    headers = version_headers(result.ticket.version_for(current_actor()), result.position)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


def idempotency_key(body: dict[str, Any]) -> IdempotencyKey | None:
    """The request's ``Idempotency-Key`` with a fingerprint of method, path and parsed body."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable() or not key.isascii():
        raise BadRequest(
            f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} printable ASCII characters"
        )
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()
    return IdempotencyKey(key=key, fingerprint=digest)
