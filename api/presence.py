"""Staff presence on a ticket (CONTRACT.md §6.3): ``POST /tickets/{id}/presence`` says "I am
viewing" or "I am replying" for 30 s; ``DELETE`` says "I left" at once. The other staff who
have the ticket open learn of it on their streams (``api.streams``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.schemas import PresenceAnswerSchema, PresenceSchema
from domain.actors import Role
from domain.errors import NotAllowed
from projections.presence import LEFT, announce

blp = Blueprint("presence", __name__, url_prefix="/api/v1", description="Staff presence")
STAFF = (Role.HANDLER, Role.ADMIN, Role.AUDITOR)


def _announce(ticket_id: str, state: str) -> dict[str, Any]:
    actor = current_actor()
    if actor.role not in STAFF:
        raise NotAllowed("only support staff announce their presence on a ticket")
    ticket = ticketing().store.visible_ticket(actor, ticket_id)  # 404 if they may not see it
    name = ticketing().handlers.display_name(actor.account_id, actor.name)
    others = announce(
        ticketing().store.datastore, UUID(str(ticket.id)), actor.account_id, name, state
    )
    return {
        "ticket_id": str(ticket.id),
        "present": [vars(other) for other in others],
    }


@blp.route("/tickets/<ticket_id>/presence")
class TicketPresence(MethodView):
    """The caller's presence on one ticket."""

    @blp.arguments(PresenceSchema)
    @blp.response(200, PresenceAnswerSchema)
    def post(self, body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
        """Say that the caller is viewing or replying (valid 30 s); the answer lists the other
        staff who have the ticket open."""
        return _announce(ticket_id, body["state"])

    @blp.response(200, PresenceAnswerSchema)
    def delete(self, ticket_id: str) -> dict[str, Any]:
        """Say that the caller left the ticket (the others see it at once)."""
        return _announce(ticket_id, LEFT)
