"""Ticket endpoints (CONTRACT.md §2.2): submit, details, history, replies and transitions."""

from __future__ import annotations

import base64
import binascii
import io
from datetime import datetime
from typing import Any

from flask import Response, send_file
from flask.views import MethodView

from api.application_form import DOCX, application_form_docx
from api.auth import current_actor
from api.http import (
    command_headers,
    expected_version,
    idempotency_key,
    ticketing,
    version_headers,
)
from api.limits import MESSAGES, SUBMISSIONS, spending
from api.parsing import Blueprint
from api.presenters import message_page, named, ticket_details
from api.schemas import (
    DetailsQuerySchema,
    ForwardingSchema,
    HistoryEntrySchema,
    MessagePageSchema,
    MessageQuerySchema,
    MessageSchema,
    NewMessageSchema,
    NewNoteSchema,
    NewRatingSchema,
    NoteSchema,
    TicketSchema,
    TicketSubmissionSchema,
    TicketTypeSchema,
)
from application.tickets import CommandResult
from domain.errors import ValidationFailed
from domain.ticket import Ticket
from domain.ticket_types import TICKET_TYPES

blp = Blueprint(
    "tickets", __name__, url_prefix="/api/v1", description="Tickets and their conversation"
)
Reply = tuple[dict[str, Any], int, dict[str, str]]


def _details(ticket: Ticket, at: datetime | None = None) -> dict[str, Any]:
    service = ticketing()
    return ticket_details(
        ticket, current_actor(), service.sla(ticket, at=at), service.handlers.display_names()
    )


def _ticket_reply(result: CommandResult, status: int = 200) -> Reply:
    return _details(result.ticket), status, command_headers(result)


@blp.route("/ticket-types")
@blp.response(200, TicketTypeSchema(many=True))
def ticket_types() -> list[dict[str, Any]]:
    """The eight ticket types and what each needs at submission (no token needed)."""
    return [
        {
            "code": str(info.code),
            "name": info.name,
            "requires_verified_email": info.requires_verified_email,
            "requires_attachment": info.requires_attachment,
        }
        for info in TICKET_TYPES
    ]


@blp.route("/ticket-types/change_owner/application-form")
@blp.response(200, content_type=DOCX)
def application_form() -> Response:
    """The Change Owner Account application form (.docx) to fill in, seal and attach."""
    return send_file(
        io.BytesIO(application_form_docx()),
        mimetype=DOCX,
        as_attachment=True,
        download_name="change-owner-application-form.docx",
    )


@blp.route("/workspaces/<id:workspace_id>/tickets", methods=["POST"])
@blp.arguments(TicketSubmissionSchema)
@blp.response(201, TicketSchema)
def submit(body: dict[str, Any], workspace_id: str) -> Reply:
    """Submit a ticket to a workspace the caller is a current member of.

    With an ``Idempotency-Key`` header, a retry with the same body returns the first response
    (``Idempotent-Replayed: true``) and records nothing; the same key with another body is 422.
    """
    verification = body["verification"]
    with spending(SUBMISSIONS) as spent:
        result = ticketing().submit(
            current_actor(),
            workspace_id,
            ticket_type=body["type"],
            title=body["title"],
            description=body["description"],
            attachment_ids=body["attachment_ids"],
            verification=None
            if verification is None
            else (verification["verification_id"], verification["code"]),
            idempotency=idempotency_key(body),
        )
    document, status, headers = _ticket_reply(result, 201)
    return document, status, {**headers, **spent}


@blp.route("/tickets/<ticket_id>")
class TicketDetails(MethodView):
    """One ticket, now or (admins, auditors) at a version or a time."""

    @blp.arguments(DetailsQuerySchema, location="query")
    @blp.response(200, TicketSchema)
    def get(self, query: dict[str, Any], ticket_id: str) -> Reply:
        """Ticket details with the actions the caller may take now."""
        actor = current_actor()
        as_of, version = query.get("as_of"), query.get("version")
        ticket = ticketing().ticket(actor, ticket_id, version=version, as_of=as_of)
        # a past state shows its clocks as they stood then
        at = as_of or (ticket.modified_on if version is not None else None)
        return _details(ticket, at), 200, version_headers(ticket.version_for(actor))


@blp.route("/tickets/<ticket_id>/history")
@blp.response(200, HistoryEntrySchema(many=True))
def history(ticket_id: str) -> list[Any]:
    """Every event of the ticket, oldest first."""
    return [vars(entry) for entry in ticketing().history(current_actor(), ticket_id)]


@blp.route("/tickets/<ticket_id>/messages", methods=["GET"])
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessagePageSchema)
def list_messages(query: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Every message of the ticket, oldest first, a page at a time (details carry the latest
    100)."""
    ticket = ticketing().ticket(current_actor(), ticket_id)
    start = _message_cursor(query.get("cursor"))
    items, after = message_page(ticket, start, query["limit"], ticketing().handlers.display_names())
    return {"items": items, "next_cursor": None if after is None else _encode_cursor(after)}


def _encode_cursor(start: int) -> str:
    return base64.urlsafe_b64encode(f"messages:{start}".encode()).decode()


def _message_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        kind, _, start = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "messages" and start.isdigit():
            return int(start)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        pass
    raise ValidationFailed({"cursor": ["not a cursor this service gave"]})


@blp.route("/tickets/<ticket_id>/messages", methods=["POST"])
@blp.arguments(NewMessageSchema)
@blp.response(201, MessageSchema)
def reply(body: dict[str, Any], ticket_id: str) -> Reply:
    """Reply as the submitter, or as the assignee or an admin (``automatic`` for handlers).

    Honours ``Idempotency-Key`` as submission does.
    """
    with spending(MESSAGES) as spent:
        result = ticketing().reply(
            current_actor(),
            ticket_id,
            body["body"],
            attachment_ids=body["attachment_ids"],
            automatic=body["automatic"],
            expected_version=expected_version(),
            idempotency=idempotency_key(body),
        )
    message = next(m for m in result.ticket.messages if m["id"] == result.message_id)
    names = ticketing().handlers.display_names()
    return (
        {**message, "author": named(message["author"], names)},
        201,
        {
            **command_headers(result),
            **spent,
        },
    )


@blp.route("/tickets/<ticket_id>/notes", methods=["POST"])
@blp.arguments(NewNoteSchema)
@blp.response(201, NoteSchema)
def add_note(body: dict[str, Any], ticket_id: str) -> Reply:
    """Add a staff note (handlers and admins; from waiting_for_feedback, feedback_provided or
    closed). It changes no status and no SLA or inactivity clock, and to users it does not
    exist. Honours ``Idempotency-Key`` as a reply does."""
    result = ticketing().add_note(
        current_actor(),
        ticket_id,
        body["body"],
        attachment_ids=body["attachment_ids"],
        expected_version=expected_version(),
        idempotency=idempotency_key(body),
    )
    note = next(n for n in result.ticket.notes if n["id"] == result.message_id)
    names = ticketing().handlers.display_names()
    return {**note, "author": named(note["author"], names)}, 201, command_headers(result)


def _transition(name: str, summary: str) -> None:
    def view(ticket_id: str) -> Reply:
        command = getattr(ticketing(), name)
        return _ticket_reply(
            command(current_actor(), ticket_id, expected_version=expected_version())
        )

    view.__name__ = name
    view.__doc__ = summary
    blp.route(f"/tickets/<ticket_id>/{name}", methods=["POST"])(
        blp.response(200, TicketSchema)(view)
    )


_transition("revoke", "Revoke a ticket nobody has accepted yet (submitter).")
_transition("restart", "Restart a revoked ticket (submitter).")
_transition("close", "Close the ticket (submitter).")
_transition("accept", "Handle the ticket; the caller becomes the assignee (assignee or admin).")
_transition("complete", "Mark the ticket complete (assignee or admin).")


@blp.route("/tickets/<ticket_id>/rating", methods=["POST"])
@blp.arguments(NewRatingSchema)
@blp.response(200, TicketSchema)
def rate(body: dict[str, Any], ticket_id: str) -> Reply:
    """Rate a closed ticket once (submitter)."""
    result = ticketing().rate(
        current_actor(),
        ticket_id,
        body["score"],
        body["comment"],
        expected_version=expected_version(),
    )
    return _ticket_reply(result)


@blp.route("/tickets/<ticket_id>/forward", methods=["POST"])
@blp.arguments(ForwardingSchema)
@blp.response(200, TicketSchema)
def forward(body: dict[str, Any], ticket_id: str) -> Reply:
    """Forward the ticket to another active handler (assignee or admin)."""
    result = ticketing().forward(
        current_actor(), ticket_id, body["handler_id"], expected_version=expected_version()
    )
    return _ticket_reply(result)
