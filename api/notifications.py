"""The caller's notifications (CONTRACT.md §6.3): the inbox, read marks and preferences.

Every account has an inbox, whatever its role; each request reads or marks the caller's own.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import current_actor
from api.parsing import Blueprint
from api.schemas import (
    MarkReadSchema,
    NotificationPageSchema,
    NotificationPreferencesSchema,
    NotificationQuerySchema,
    UnreadCountSchema,
)
from domain.errors import ValidationFailed
from projections.inbox import BadCursor, Inbox

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/me", description="Notifications")


def inbox() -> Inbox:
    """The notifications store of this Flask app."""
    found: Inbox = current_app.extensions["inbox"]
    return found


@blp.route("/notifications", methods=["GET"])
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(query: dict[str, Any]) -> dict[str, Any]:
    """The caller's notifications, newest first, with the unread count."""
    try:
        page = inbox().page(
            current_actor().account_id,
            unread=query["unread"],
            limit=query["limit"],
            cursor=query.get("cursor"),
        )
    except BadCursor as error:
        raise ValidationFailed({"cursor": [str(error)]}) from None
    return {"items": page.items, "next_cursor": page.next_cursor, "unread_count": page.unread_count}


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(MarkReadSchema)
@blp.response(200, UnreadCountSchema)
def mark_read(body: dict[str, Any]) -> dict[str, Any]:
    """Mark notifications read: the ones named, or every one up to ``up_to``."""
    if not body.get("notification_ids") and body.get("up_to") is None:
        raise ValidationFailed({"notification_ids": ["name notifications, or send up_to"]})
    count = inbox().mark_read(
        current_actor().account_id,
        ids=body.get("notification_ids") or (),
        up_to=body.get("up_to"),
    )
    return {"unread_count": count}


@blp.route("/notification-preferences", methods=["GET"])
@blp.response(200, NotificationPreferencesSchema)
def get_preferences() -> dict[str, Any]:
    """Which kinds go out to the platform's notifier for the caller."""
    return {"kinds": inbox().preferences(current_actor().account_id)}


@blp.route("/notification-preferences", methods=["PUT"])
@blp.arguments(NotificationPreferencesSchema)
@blp.response(200, NotificationPreferencesSchema)
def put_preferences(body: dict[str, Any]) -> dict[str, Any]:
    """Switch kinds on or off; the answer lists every kind."""
    return {"kinds": inbox().set_preferences(current_actor().account_id, body["kinds"])}
