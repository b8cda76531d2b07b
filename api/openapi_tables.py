"""The tables the OpenAPI document's finishing pass (``api.openapi_document``) applies: named
enums, headers, error responses, and which operations read or send what."""

from __future__ import annotations

from typing import Any

from application.history import PUBLIC_TYPES
from domain.actors import Role
from domain.attachments import CONTENT_TYPES
from domain.status import Action, CloseReason, QueueState, Status
from domain.ticket_types import TICKET_TYPES

Document = dict[str, Any]

PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ENUMS: dict[str, tuple[list[str], str]] = {
    "TicketTypeCode": (
        [str(t.code) for t in TICKET_TYPES],
        "a ticket type code (GET /ticket-types)",
    ),
    "TicketStatus": ([str(s) for s in Status], "a ticket's status as its submitter sees it"),
    "QueueState": ([str(s) for s in QueueState], "a ticket's status as support sees it"),
    "CloseReason": ([str(r) for r in CloseReason], "why a ticket was closed"),
    "TicketAction": ([str(a) for a in Action], "a command the caller may issue now"),
    "SlaTarget": (["first_response", "resolution"], "an SLA clock"),
    "Role": (
        [str(r) for r in Role if r is not Role.SYSTEM],
        "a caller's role, from the token's `role` claim",
    ),
    "AuthorRole": (
        [str(r) for r in Role],
        "who wrote a message: a caller's role, or `system` for the service's automatic replies",
    ),
    "ExportFormat": (["csv", "xlsx"], "the export's file format"),
    "QueueOrder": (["newest", "due"], "newest first, or nearest SLA due first"),
    "HistoryEventType": (list(PUBLIC_TYPES.values()), "the public name of a ticket event"),
}
ENUM_BY_VALUES = {frozenset(values): name for name, (values, _) in ENUMS.items()}
# inline enums whose values alone do not name them (a subset of a larger enum)
ENUM_BY_PROPERTY = {("Author", "role"): "AuthorRole", ("Me", "role"): "Role"}

PATH_PARAMETERS = {
    "ticket_id": "the ticket's id (a UUID, as `id` in its details)",
    "workspace_id": "the workspace's id, as the platform names it (1-128 characters, no white "
    "space; a `/` in it is sent as `%2F`)",
    "account_id": "the handler's platform account id (1-128 characters, no white space)",
    "attachment_id": "the attachment's id (as `id` in the upload's answer)",
}

HEADERS: dict[str, Document] = {
    "ETag": {
        "description": "the ticket's version, quoted: send it back in `If-Match`",
        "schema": {"type": "string", "example": '"3"'},
    },
    "XTicketingPosition": {
        "description": "the store position of the command's last event: send it back on a "
        "list request to see this write (read-your-writes)",
        "schema": {"type": "integer", "example": 1042},
    },
    "IdempotentReplayed": {
        "description": "`true` when this answer repeats the first one sent for the same "
        "`Idempotency-Key` (nothing new was recorded)",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "XTicketingStale": {
        "description": "`true` when the read models did not reach the requested "
        "`X-Ticketing-Position` within 5 s: the list is served anyway",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "RetryAfter": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "example": 5},
    },
    "WWWAuthenticate": {
        "description": "the authentication scheme: a bearer token",
        "schema": {"type": "string", "example": 'Bearer realm="ticketing"'},
    },
    "XRequestId": {
        "description": "this request's id in the service's logs (the caller's own "
        "`X-Request-Id`, if it sent one)",
        "schema": {"type": "string", "example": "5f0c2b7e9a8d4c1f"},
    },
    "ContentDisposition": {
        "description": "the file's name",
        "schema": {"type": "string", "example": 'attachment; filename="tickets-ws-1.csv"'},
    },
}
REQUEST_HEADERS: dict[str, Document] = {
    "IfMatch": {
        "in": "header",
        "name": "If-Match",
        "required": False,
        "description": "the `ETag` of the version the command is meant for: another version "
        "answers 412 and records nothing",
        "schema": {"type": "string", "example": '"3"'},
    },
    "IdempotencyKey": {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "description": "a key of the caller's choosing: the same key with the same body "
        "returns the first answer again and records nothing; with another body, 422",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200, "example": "submit-7f3a"},
    },
    "XTicketingPosition": {
        "in": "header",
        "name": "X-Ticketing-Position",
        "required": False,
        "description": "a command's `X-Ticketing-Position`: the answer waits (at most 5 s) "
        "until it includes that write; a position beyond the store's last event is 400",
        "schema": {"type": "integer", "minimum": 0, "example": 1042},
    },
}

# (name, status, what it means here)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "the request is malformed (unreadable JSON, a bad request line)"),
    401: ("Unauthorized", "no token, or the token is invalid or expired"),
    403: ("Forbidden", "the caller is known but not allowed to do this"),
    404: ("NotFound", "no such resource, or it is not visible to the caller"),
    409: ("Conflict", "not allowed in the ticket's current state"),
    412: ("PreconditionFailed", "`If-Match` names another version than the ticket's"),
    413: ("ContentTooLarge", "the body or a file is too large"),
    415: ("UnsupportedMediaType", "a file's format is refused (checked on its bytes)"),
    422: ("UnprocessableContent", "a field, parameter or header is invalid: `errors` names each"),
    429: ("TooManyRequests", "too many requests: wait `Retry-After` seconds"),
    502: ("BadGateway", "a stored file is not the one recorded (its digest differs): not served"),
    503: ("ServiceUnavailable", "the database is unreachable: try again after `Retry-After`"),
}
ERROR_HEADERS = {401: ["WWWAuthenticate"], 429: ["RetryAfter"], 503: ["RetryAfter"]}

TICKET_COMMANDS = frozenset({
    "replyToTicket", "revokeTicket", "restartTicket", "closeTicket", "rateTicket",
    "acceptTicket", "forwardTicket", "completeTicket", "addStaffNote",
})  # fmt: skip
IDEMPOTENT = frozenset({"submitTicket", "replyToTicket", "addStaffNote"})
# per-account limits of users (CONTRACT.md §2.0), and the e-mail codes' own
RATE_LIMITED = frozenset(
    {"requestEmailVerification", "submitTicket", "replyToTicket", "uploadAttachments"}
)
READS_YOUR_WRITES = frozenset({
    "listWorkspaceTickets", "listMyTickets", "listHandlerTickets", "listAllTickets",
    "listMyWorkspaces", "exportTickets", "exportChosenTickets", "getReport",
})  # fmt: skip
# operations that also answer CSV (``format=csv``) beside their JSON
ALSO_CSV = {"getReport": "the same figures as rows: the totals, each period, each assignee"}
BINARY: dict[str, dict[str, str]] = {
    # a download is sent with the type its format has (domain.attachments)
    "downloadAttachment": {
        content_type: "the file, as uploaded"
        for content_type in sorted(set(CONTENT_TYPES.values()))
    },
    "getApplicationForm": {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "the form"
    },
    "exportTickets": {"text/csv": "CSV, a header row first", XLSX: "an XLSX workbook"},
    "exportChosenTickets": {"text/csv": "CSV, a header row first", XLSX: "an XLSX workbook"},
}


# ``GET /api/v1/me/stream`` is served by the asyncio server (``api.streams``), not by a Flask
# view, so the document describes it here (tests/e2e/test_streams.py checks it against a
# real ``ticketing serve``).
STREAM_OPERATION_ID = "streamMyEvents"
STREAM_PATH_ITEM: Document = {
    "get": {
        "operationId": STREAM_OPERATION_ID,
        "tags": ["Notifications"],
        "summary": "Live events for the caller (Server-Sent Events)",
        "description": "A `text/event-stream` that stays open: `notification` (a new "
        "notification of the caller's, as in `GET /me/notifications`), `ticket` "
        "(`{ticket_id, version, status, workspace_id}` of a ticket the caller may read that "
        "changed) and, for staff, `presence` (`{ticket_id, account_id, name, state}` of "
        "another staff member on a ticket the caller has open; `state` is `viewing`, "
        "`replying` or `left`). Each event's `id` is the store position of its fact; the "
        "events of one position come together and only the last carries the id. A reconnect "
        "with `Last-Event-ID` (or `?last_event_id=`) misses nothing since it; one that would "
        "replay more than 1,000 rows gets `reset` (with the current position as its id): "
        "read afresh. A stream ends with `expired` (`{reason}`) when its token expires, and "
        "after an hour in any case: open a new one. An account may hold 16 streams per API "
        "process (one more: 429). A comment comes at least every 15 s. A browser's "
        "EventSource may send the token as `?access_token=` (this path only; it is never "
        "logged).",
        "parameters": [
            {
                "in": "header",
                "name": "Last-Event-ID",
                "required": False,
                "description": "the id of the last event received: the stream resumes after it",
                "schema": {"type": "string", "example": "1042"},
            },
            {
                "in": "query",
                "name": "last_event_id",
                "required": False,
                "description": "as `Last-Event-ID`, for clients that cannot send the header",
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "in": "query",
                "name": "access_token",
                "required": False,
                "description": "the bearer token, for clients that cannot send headers",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "the stream",
                "content": {
                    "text/event-stream": {
                        "schema": {"type": "string"},
                        "example": 'event: ticket\ndata: {"ticket_id": "0b9f3c4e-6d1a-4f1e-'
                        '9a57-2c4b8e1d7f30", "version": 4, "status": "feedback_provided", '
                        '"workspace_id": "ws-acme"}\nid: 1042\n\n',
                    }
                },
            },
        },
    }
}
