"""Ticket events as other services receive them on ``tickets.events`` (CONTRACT.md §3.2)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from application.history import history_entry
from domain.content import storable
from domain.ticket import Ticket

_EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ticketing:tickets.events")


def event_id(ticket_id: UUID, version: int) -> str:
    """A stable id per stored event, so a resent message can be recognised as a duplicate."""
    return str(uuid5(_EVENT_ID_NAMESPACE, f"{ticket_id}:{version}"))


def is_ticket_event(domain_event: Any) -> bool:
    """Whether a stored event is one of a ticket's (the only ones published)."""
    return isinstance(domain_event, Ticket.Event)


def ticket_event_message(domain_event: Any, number: int, workspace_id: str) -> dict[str, Any]:
    """``{event_id, type, occurred_at, ticket_id, ticket_number, workspace_id, version, data}``.

    ``data`` is the event's own fields (``HandlerReplied`` includes ``automatic``) and the actor.
    """
    entry = history_entry(domain_event)
    return {
        "event_id": event_id(domain_event.originator_id, entry.version),
        "type": entry.type,
        "occurred_at": entry.occurred_at,
        "ticket_id": str(domain_event.originator_id),
        "ticket_number": number,
        "workspace_id": workspace_id,
        "version": entry.version,
        "data": {**entry.data, "actor": entry.actor},
    }


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def encode(message: dict[str, Any]) -> bytes:
    """UTF-8 JSON with RFC 3339 times; text that UTF-8 cannot hold (an unpaired surrogate in
    an event older than the text rules) goes out as U+FFFD."""
    return json.dumps(_storable(message), default=_json_default, separators=(",", ":")).encode()
