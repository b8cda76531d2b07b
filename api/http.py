"""Request helpers shared by the blueprints: the application, If-Match, response headers."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import PreconditionFailed

from application.tickets import CommandResult, TicketingApp


def ticketing() -> TicketingApp:
    """The application this Flask app was built with."""
    app: TicketingApp = current_app.extensions["ticketing"]
    return app


def expected_version() -> int | None:
    """The version an ``If-Match: "<version>"`` header asks for (None: no condition)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(f"If-Match {raw!r} names no version of this ticket")
    return int(tag)


def version_headers(version: int, position: int | None = None) -> dict[str, str]:
    """``ETag`` for a ticket version, and the store position a command reached."""
    headers = {"ETag": f'"{version}"'}
    if position is not None:
        headers["X-Ticketing-Position"] = str(position)
    return headers


def command_headers(result: CommandResult) -> dict[str, str]:
    """Headers of a command response."""
    return version_headers(result.ticket.version, result.position)
