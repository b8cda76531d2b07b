"""Handler administration (``/admin/handlers``): admins manage, auditors read; and the
handlers a ticket can be forwarded to (``/handlers``), for the staff who forward."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.presenters import handler_entries
from api.schemas import (
    ForwardTargetListSchema,
    HandlerChangeSchema,
    HandlerSchema,
    NewHandlerSchema,
)
from domain.actors import Role
from domain.errors import NotAllowed
from projections.candidates import assigned_to

blp = Blueprint("handlers", __name__, url_prefix="/api/v1/admin", description="Support handlers")
targets = Blueprint(
    "forward_targets", __name__, url_prefix="/api/v1", description="Where tickets can go"
)
STAFF = (Role.HANDLER, Role.ADMIN, Role.AUDITOR)
CATCH_UP = 3.0  # seconds a deactivation waits for the read models to show every assignment


def _entry(handlers: dict[str, dict[str, Any]], account_id: str) -> dict[str, Any]:
    return {"account_id": account_id, **handlers[account_id]}


@blp.route("/handlers")
class Handlers(MethodView):
    """The handler roster."""

    @blp.response(200, HandlerSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every handler (admins and auditors)."""
        if current_actor().role not in (Role.ADMIN, Role.AUDITOR):
            raise NotAllowed("only admins and auditors see the handler roster")
        return handler_entries(ticketing().handlers.roster().handlers)

    @blp.arguments(NewHandlerSchema)
    @blp.response(201, HandlerSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a handler (admins)."""
        roster = ticketing().handlers.register_handler(
            current_actor(), body["account_id"], body["name"], body["roles"], body["active"]
        )
        return _entry(roster.handlers, body["account_id"].strip())


@blp.route("/handlers/<id:account_id>")
class HandlerByAccount(MethodView):
    """One handler."""

    @blp.arguments(HandlerChangeSchema)
    @blp.response(200, HandlerSchema)
    def patch(self, body: dict[str, Any], account_id: str) -> dict[str, Any]:
        """Change a handler's name, roles or whether it is active (admins). Deactivating a
        handler forwards their tickets not yet closed to the default assignee."""
        roster = ticketing().handlers.update_handler(current_actor(), account_id, body)
        if body.get("active") is False:
            view = current_app.extensions["read_models"]
            # what was assigned to them up to now (the worker's sweep catches a straggler)
            view.wait_for(ticketing().store.recorder.max_notification_id() or 0, CATCH_UP)
            for ticket_id, handler_id in assigned_to(view, [account_id]):
                ticketing().housekeeping.reassign_from_inactive(ticket_id, handler_id)
        return _entry(roster.handlers, account_id)


@targets.route("/handlers", methods=["GET"])
@targets.response(200, ForwardTargetListSchema)
def forward_targets() -> dict[str, Any]:
    """The active handlers, the ones a ticket can be forwarded to (handlers, admins and
    auditors): ``{items: [{account_id, name}]}`` sorted by account id."""
    if current_actor().role not in STAFF:
        raise NotAllowed("only support staff see the handlers")
    entries = handler_entries(ticketing().handlers.roster().handlers)
    return {
        "items": [
            {"account_id": entry["account_id"], "name": entry["name"]}
            for entry in entries
            if entry["active"]
        ]
    }
