"""Examples for every schema of the OpenAPI document, and the typed data of history entries.

One consistent story: Ava Martin of workspace ``ws-acme`` reports empty charts, Sam Support
accepts and answers.
"""

from __future__ import annotations

from typing import Any

TICKET_ID = "0b9f3c4e-6d1a-4f1e-9a57-2c4b8e1d7f30"
ATTACHMENT = {
    "id": "5e2d1c0b-8a7f-4e6d-9c3b-1a2f3e4d5c6b",
    "filename": "dashboard.png",
    "content_type": "image/png",
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
AVA = {"account_id": "ava", "name": "Ava Martin"}
SAM = {"account_id": "sam", "name": "Sam Support"}
SLA = {
    "first_response_due_at": "2026-11-30T13:12:00+00:00",
    "first_responded_at": "2026-11-30T10:05:00+00:00",
    "resolution_due_at": "2026-12-04T11:12:00+00:00",
    "breached": [],
}
SUMMARY = {
    "id": TICKET_ID,
    "number": 1042,
    "workspace_id": "ws-acme",
    "type": "bug",
    "title": "Dashboard charts stay empty",
    "status": "feedback_provided",
    "queue_state": "processing",
    "submitter": AVA,
    "assignee": SAM,
    "submitted_at": "2026-11-30T09:12:00+00:00",
    "updated_at": "2026-11-30T10:05:00+00:00",
    "sla": SLA,
}
MESSAGE = {
    "id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "author": {**SAM, "role": "handler"},
    "body": "We restored the data source. Are the charts back?",
    "attachments": [],
    "automatic": False,
    "created_at": "2026-11-30T10:05:00+00:00",
}
NOTE = {
    "id": "d2b3c4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
    "author": {**SAM, "role": "handler"},
    "body": "Data source was paused by their admin; asked them to check it.",
    "attachments": [],
    "created_at": "2026-11-30T10:06:00+00:00",
}
CANNED_REPLY = {
    "id": "e3c4d5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f",
    "title": "Clear the browser cache",
    "body": "Hello {{submitter.name}}, please clear your browser's cache and reload; "
    "if ticket #{{ticket.number}} persists, reply here. {{handler.name}}",
    "shared": True,
    "owner": SAM,
    "updated_at": "2026-11-29T16:00:00+00:00",
}
CLOSED_COUNTS = {
    "total": 41, "submitter": 9, "completed": 27, "inactivity": 4, "account_cancelled": 1,
    "workspace_dissolved": 0,
}  # fmt: skip
CSAT = {"average": 4.4, "counts": {"1": 0, "2": 1, "3": 2, "4": 9, "5": 14}, "rated_pct": 63.4}
CHECKPOINT = {
    "position": 120000,
    "digest": "9f2c1e7a5b3d40c8e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
    "at": "2026-12-02T09:41:00+00:00",
}
BACKLOG = {"pending": 6, "processing": 17, "cancelled": 2}
FIGURES = {
    "submitted": 48,
    "closed": CLOSED_COUNTS,
    "first_response_business_minutes": {"p50": 38, "p90": 196, "count": 44},
    "resolution_business_minutes": {"p50": 610, "p90": 2143, "count": 40},
    "sla_first_response_met_pct": 93.2,
    "sla_resolution_met_pct": 87.5,
    "csat": CSAT,
    "backlog": BACKLOG,
}
TICKET = {
    **SUMMARY,
    "description": "Since this morning every chart on the Production dashboard is empty.",
    "verified_email": None,
    "attachments": [ATTACHMENT],
    "close_reason": None,
    "rating": None,
    "messages": [MESSAGE],
    "messages_total": 1,
    "closed_at": None,
    "version": 3,
    "allowed_actions": ["reply", "close"],
}

NOTIFICATION = {
    "notification_id": "0b7c6a52-2f0e-5d1c-9a4e-3c2b1a0f9e8d",
    "account_id": AVA["account_id"],
    "kind": "handler_replied",
    "ticket_id": TICKET_ID,
    "ticket_number": TICKET["number"],
    "workspace_id": "ws-acme",
    "title": TICKET["title"],
    "summary": MESSAGE["body"],
    "occurred_at": MESSAGE["created_at"],
    "url": f"/tickets/{TICKET_ID}",
    "read_at": None,
}

EXAMPLES: dict[str, Any] = {
    "Problem": {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "the request is not valid",
        "errors": {"title": ["must be 1 to 200 characters after trimming"]},
    },
    "TicketType": {
        "code": "change_owner",
        "name": "Change Owner Account",
        "requires_verified_email": False,
        "requires_attachment": True,
    },
    "VerificationAnswer": {
        "verification_id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "code": "482913",
    },
    "TicketSubmission": {
        "type": "bug",
        "title": "Dashboard charts stay empty",
        "description": "Since this morning every chart on the Production dashboard is empty.",
        "attachment_ids": [ATTACHMENT["id"]],
    },
    "Party": AVA,
    "Author": {**SAM, "role": "handler"},
    "Sla": SLA,
    "Attachment": ATTACHMENT,
    "Rating": {"score": 5, "comment": "Quick and clear.", "rated_at": "2026-11-30T11:00:00+00:00"},
    "Message": MESSAGE,
    "Note": NOTE,
    "CheckpointQuery": {"limit": 100},
    "Checkpoint": CHECKPOINT,
    "CheckpointPage": {"items": [CHECKPOINT], "next_before": None},
    "ReportQuery": {"from": "2026-11-01", "to": "2026-11-30", "interval": "week"},
    "Spread": {"p50": 38, "p90": 196, "count": 44},
    "ClosedCounts": CLOSED_COUNTS,
    "Csat": CSAT,
    "Backlog": BACKLOG,
    "Figures": FIGURES,
    "ReportPoint": {"period_start": "2026-11-23", **FIGURES},
    "ReportAssignee": {"assignee": SAM, **FIGURES},
    "Report": {
        "from": "2026-11-23",
        "to": "2026-11-29",
        "interval": "week",
        "time_zone": "Asia/Shanghai",
        "totals": FIGURES,
        "series": [{"period_start": "2026-11-23", **FIGURES}],
        "by_assignee": [{"assignee": SAM, **FIGURES}],
    },
    "NewNote": {"body": "Billing confirmed the refund; tell Ava on Monday.", "attachment_ids": []},
    "CannedReply": CANNED_REPLY,
    "CannedReplyList": {"items": [CANNED_REPLY]},
    "CannedReplyEvent": {
        "version": 4,
        "type": "ReplyChanged",
        "occurred_at": "2026-11-30T16:00:00+00:00",
        "actor": {**SAM, "role": "admin"},
        "data": {"reply_id": CANNED_REPLY["id"], "changes": {"shared": True}},
    },
    "CannedReplyQuery": {"q": "cache"},
    "NewCannedReply": {
        "title": CANNED_REPLY["title"],
        "body": CANNED_REPLY["body"],
        "shared": True,
    },
    "CannedReplyChange": {"shared": False},
    "Ticket": TICKET,
    "TicketSummary": SUMMARY,
    "NewMessage": {"body": "Yes, they are back. Thank you!", "attachment_ids": []},
    "NewRating": {"score": 5, "comment": "Quick and clear."},
    "Forwarding": {"handler_id": "sam"},
    "Handler": {**SAM, "roles": ["handler"], "active": True},
    "NewHandler": {**SAM, "roles": ["handler"], "active": True},
    "HandlerChange": {"active": False},
    "ForwardTarget": SAM,
    "ForwardTargetList": {"items": [SAM]},
    "TicketPage": {"items": [SUMMARY], "next_cursor": None},
    "Count": {"count": 57, "exact": True},
    "QueueStateCounts": {
        "pending": {"count": 3, "exact": True},
        "processing": {"count": 12, "exact": True},
        "completed": {"count": 41, "exact": True},
        "cancelled": {"count": 1, "exact": True},
    },
    "Totals": {"matching": {"count": 12, "exact": True}},
    "ExportRequest": {"format": "csv", "ids": [TICKET_ID]},
    "Me": {**AVA, "role": "user"},
    "Workspace": {"workspace_id": "ws-acme"},
    "WorkspaceList": {"items": [{"workspace_id": "ws-acme"}]},
    "EmailVerificationRequest": {"email": "ava@example.com"},
    "EmailVerification": {
        "verification_id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "expires_at": "2026-11-30T09:27:00+00:00",
    },
    "AttachmentUpload": {"files": ["dashboard.png"]},
    "Notification": NOTIFICATION,
    "MessagePage": {"items": [MESSAGE], "next_cursor": None},
    "NotificationPage": {"items": [NOTIFICATION], "next_cursor": None, "unread_count": 1},
    "MarkRead": {"notification_ids": [NOTIFICATION["notification_id"]]},
    "UnreadCount": {"unread_count": 0},
    "Presence": {"state": "replying"},
    "Present": {**SAM, "state": "viewing"},
    "PresenceAnswer": {"ticket_id": TICKET_ID, "present": [{**SAM, "state": "viewing"}]},
    "NotificationPreferences": {"kinds": {"handler_replied": True, "closing_soon": False}},
}


def _data(properties: dict[str, Any], required: list[str], example: dict[str, Any]) -> Any:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "example": example}
    if required:  # OpenAPI 3.0: a list of at least one
        schema["required"] = required
    return schema


_STR = {"type": "string"}
_PARTY = {"$ref": "#/components/schemas/Party"}
_FILES = {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}
_ASSIGNED = _data({"assignee": _PARTY}, ["assignee"], {"assignee": SAM})
_NOTHING = _data({}, [], {})

# the ``data`` of each public event type (application/history.py), as stored
HISTORY_DATA: dict[str, Any] = {
    "TicketSubmitted": _data(
        {
            "number": {"type": "integer"},
            "workspace_id": _STR,
            "type": {"$ref": "#/components/schemas/TicketTypeCode"},
            "title": _STR,
            "description": _STR,
            "submitter": _PARTY,
            "assignee": _PARTY,
            "verified_email": {"type": "string", "nullable": True},
            "attachments": _FILES,
        },
        ["number", "workspace_id", "type", "title", "description", "submitter", "assignee"],
        {
            "number": 1042,
            "workspace_id": "ws-acme",
            "type": "bug",
            "title": "Dashboard charts stay empty",
            "description": "Since this morning...",
            "submitter": AVA,
            "assignee": {"account_id": "admin", "name": "Admin"},
            "verified_email": None,
            "attachments": [ATTACHMENT],
        },
    ),
    "TicketAccepted": _ASSIGNED,
    "TicketForwarded": _ASSIGNED,
    "TicketRestarted": _ASSIGNED,
    "HandlerReplied": _data(
        {
            "message_id": _STR,
            "body": _STR,
            "attachments": _FILES,
            "automatic": {"type": "boolean"},
            "reminder": {"type": "boolean", "description": "an automatic closing reminder"},
        },
        ["message_id", "body", "attachments", "automatic"],
        {
            "message_id": MESSAGE["id"],
            "body": MESSAGE["body"],
            "attachments": [],
            "automatic": False,
        },
    ),
    "UserReplied": _data(
        {"message_id": _STR, "body": _STR, "attachments": _FILES},
        ["message_id", "body", "attachments"],
        {"message_id": MESSAGE["id"], "body": "They are back, thanks.", "attachments": []},
    ),
    "TicketRevoked": _NOTHING,
    "TicketClosed": _data(
        {"reason": {"$ref": "#/components/schemas/CloseReason"}},
        ["reason"],
        {"reason": "submitter"},
    ),
    "TicketRated": _data(
        {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "comment": {"type": "string", "nullable": True},
        },
        ["score"],
        {"score": 5, "comment": "Quick and clear."},
    ),
    "TicketSlaBreached": _data(
        {"target": {"$ref": "#/components/schemas/SlaTarget"}},
        ["target"],
        {"target": "first_response"},
    ),
    "StaffNoteAdded": _data(
        {"note_id": _STR, "body": _STR, "attachments": _FILES},
        ["note_id", "body", "attachments"],
        {"note_id": NOTE["id"], "body": NOTE["body"], "attachments": []},
    ),
}
