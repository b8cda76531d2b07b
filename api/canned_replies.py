"""Canned replies (CONTRACT.md §7): listed and added by staff, changed and deleted by admins
(and by a handler, their own private ones), filled in for a ticket on the server."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.schemas import (
    CannedReplyChangeSchema,
    CannedReplyEventSchema,
    CannedReplyListSchema,
    CannedReplyQuerySchema,
    CannedReplySchema,
    NewCannedReplySchema,
)

blp = Blueprint(
    "canned_replies",
    __name__,
    url_prefix="/api/v1",
    description="Canned replies: answers support staff insert instead of retyping",
)


@blp.route("/admin/canned-replies")
class CannedReplies(MethodView):
    """The canned replies the caller may use."""

    @blp.arguments(CannedReplyQuerySchema, location="query")
    @blp.response(200, CannedReplyListSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Shared replies and the caller's own, by title (admins and auditors: every reply);
        ``q`` keeps those whose title contains it."""
        return {"items": ticketing().canned_replies.readable(current_actor(), query.get("q", ""))}

    @blp.arguments(NewCannedReplySchema)
    @blp.response(201, CannedReplySchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a reply (handlers and admins). An unknown ``{{placeholder}}`` is 422."""
        return ticketing().canned_replies.add(
            current_actor(), body["title"], body["body"], body["shared"]
        )


@blp.route("/admin/canned-replies/<reply_id>")
class CannedReplyById(MethodView):
    """One canned reply."""

    @blp.response(200, CannedReplySchema)
    def get(self, reply_id: str) -> dict[str, Any]:
        """A reply the caller may use."""
        return ticketing().canned_replies.get(current_actor(), reply_id)

    @blp.arguments(CannedReplyChangeSchema)
    @blp.response(200, CannedReplySchema)
    def patch(self, body: dict[str, Any], reply_id: str) -> dict[str, Any]:
        """Change a reply's title, body or sharing (admins; a handler their own private
        reply)."""
        return ticketing().canned_replies.change(current_actor(), reply_id, body)

    @blp.response(204)
    def delete(self, reply_id: str) -> None:
        """Delete a reply (as a change)."""
        ticketing().canned_replies.remove(current_actor(), reply_id)


@blp.route("/admin/canned-replies/<reply_id>/history")
@blp.response(200, CannedReplyEventSchema(many=True))
def reply_history(reply_id: str) -> list[Any]:
    """Who added, changed or removed the reply, and when (admins and auditors)."""
    return [vars(e) for e in ticketing().canned_replies.history(current_actor(), reply_id)]


@blp.route("/tickets/<ticket_id>/canned-replies/<reply_id>/preview")
@blp.response(200, CannedReplySchema)
def preview(ticket_id: str, reply_id: str) -> dict[str, Any]:
    """The reply with its placeholders filled in for this ticket, as text (staff who see the
    ticket)."""
    return ticketing().canned_replies.fill_in(current_actor(), ticket_id, reply_id)
