"""What the OpenAPI document adds to what flask-smorest derives from the views.

- Errors: every error response is ``application/problem+json`` with the ``Problem`` schema
  (flask-smorest would document its own ``Error`` as ``application/json``; CONTRACT.md §2).
- Operation ids: one name per operation, here in one table, so generated clients get
  readable functions and links can name their targets.
- Links: every response that is a ticket links to the operations on that ticket, so a
  client, or a fuzzer, can go from a submitted ticket to everything it can do with it.
- Public operations say so (``security: []``).
"""

from __future__ import annotations

import http
from typing import Any

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.routing import Rule

from api.openapi_document import finish

PROBLEM = "application/problem+json"
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("tickets.ticket_types", "get"): "listTicketTypes",
    ("tickets.application_form", "get"): "getApplicationForm",
    ("tickets.submit", "post"): "submitTicket",
    ("tickets.TicketDetails", "get"): "getTicket",
    ("tickets.history", "get"): "getTicketHistory",
    ("tickets.reply", "post"): "replyToTicket",
    ("tickets.list_messages", "get"): "listTicketMessages",
    ("tickets.revoke", "post"): "revokeTicket",
    ("tickets.restart", "post"): "restartTicket",
    ("tickets.close", "post"): "closeTicket",
    ("tickets.accept", "post"): "acceptTicket",
    ("tickets.complete", "post"): "completeTicket",
    ("tickets.rate", "post"): "rateTicket",
    ("tickets.forward", "post"): "forwardTicket",
    ("tickets.add_note", "post"): "addStaffNote",
    ("canned_replies.CannedReplies", "get"): "listCannedReplies",
    ("canned_replies.CannedReplies", "post"): "addCannedReply",
    ("canned_replies.CannedReplyById", "get"): "getCannedReply",
    ("canned_replies.CannedReplyById", "patch"): "updateCannedReply",
    ("canned_replies.CannedReplyById", "delete"): "deleteCannedReply",
    ("canned_replies.reply_history", "get"): "getCannedReplyHistory",
    ("canned_replies.preview", "get"): "previewCannedReply",
    ("reports.report", "get"): "getReport",
    ("audit.checkpoints", "get"): "listAuditCheckpoints",
    ("lists.all_tickets", "get"): "listWorkspaceTickets",
    ("lists.my_tickets", "get"): "listMyTickets",
    ("lists.handler_tickets", "get"): "listHandlerTickets",
    ("lists.admin_tickets", "get"): "listAllTickets",
    ("lists.export", "get"): "exportTickets",
    ("lists.export_batch", "post"): "exportChosenTickets",
    ("handlers.Handlers", "get"): "listHandlers",
    ("handlers.Handlers", "post"): "addHandler",
    ("handlers.HandlerByAccount", "patch"): "updateHandler",
    ("forward_targets.forward_targets", "get"): "listForwardTargets",
    ("me.me", "get"): "getMe",
    ("me.my_workspaces", "get"): "listMyWorkspaces",
    ("notifications.list_notifications", "get"): "listMyNotifications",
    ("notifications.mark_read", "post"): "markNotificationsRead",
    ("notifications.get_preferences", "get"): "getNotificationPreferences",
    ("notifications.put_preferences", "put"): "setNotificationPreferences",
    ("presence.TicketPresence", "post"): "announcePresence",
    ("presence.TicketPresence", "delete"): "endPresence",
    ("verifications.request_verification", "post"): "requestEmailVerification",
    ("attachments.upload", "post"): "uploadAttachments",
    ("attachments.download", "get"): "downloadAttachment",
}
PUBLIC_OPERATIONS = frozenset({"listTicketTypes", "getApplicationForm"})
TICKET_SCHEMA = {"$ref": "#/components/schemas/Ticket"}
TICKET_LINKS = {
    operation_id: {
        "operationId": operation_id,
        "parameters": {"ticket_id": "$response.body#/id"},
    }
    for operation_id in (
        "getTicket", "getTicketHistory", "listTicketMessages", "replyToTicket", "revokeTicket",
        "restartTicket", "closeTicket", "acceptTicket", "completeTicket", "rateTicket",
        "forwardTicket", "addStaffNote",
    )
}  # fmt: skip


WORKSPACE_LINKS = {
    operation_id: {
        "operationId": operation_id,
        "parameters": {"workspace_id": "$response.body#/items/0/workspace_id"},
    }
    for operation_id in ("submitTicket", "listWorkspaceTickets", "exportTickets")
}


class OperationsPlugin(BasePlugin):
    """Names every operation, marks the public ones, links ticket responses to commands."""

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        rule: Rule | None = None,
        **kwargs: Any,
    ) -> None:
        """Complete each operation of one path."""
        assert rule is not None
        assert operations is not None
        for method, operation in operations.items():
            operation_id = OPERATION_IDS.get((str(rule.endpoint), method))
            if operation_id is None:
                raise KeyError(f"no operationId for {method.upper()} {rule.rule}: name it")
            operation["operationId"] = operation_id
            if operation_id in PUBLIC_OPERATIONS:
                operation["security"] = []
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}) if isinstance(response, dict) else {}
                if content.get("application/json", {}).get("schema") == TICKET_SCHEMA:
                    response["links"] = TICKET_LINKS
                elif operation_id == "listMyWorkspaces" and status == "200":
                    response["links"] = WORKSPACE_LINKS


class ProblemSchema(Schema):
    """An RFC 9457 problem: what went wrong, for people and programs."""

    type = fields.String(
        required=True, metadata={"description": "a URI naming the kind of problem"}
    )
    title = fields.String(required=True, metadata={"description": "the status, in words"})
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    detail = fields.String(required=True, metadata={"description": "what went wrong here"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "422 only: the messages of each refused field"},
    )


class TicketingApi(Api):  # type: ignore[misc]
    """flask-smorest's ``Api`` whose error responses are problem+json documents, and whose
    document gets the finishing pass of ``api.openapi_document`` wherever it is read."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
        derived = self.spec.to_dict
        self.spec.to_dict = lambda: finish(derived())

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        default: dict[str, Any] = {"description": "an error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)
