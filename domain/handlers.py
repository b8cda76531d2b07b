"""The roster of support handlers that administrators keep (``/admin/handlers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import content
from domain.copying import CheapCopy
from domain.errors import InvalidTransition, ValidationFailed

ROSTER_ID: UUID = uuid5(NAMESPACE_URL, "urn:ticketing:handler-roster")
NAME_MAX = 200
ROLE_MAX = 50
ROLES_MAX = 20


def _clean_roles(errors: content.Errors, roles: object) -> list[str]:
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        errors.setdefault("roles", []).append("must be a list of strings")
        return []
    cleaned = sorted({role.strip() for role in roles if role.strip()})
    if any(content.text_fault(role) for role in cleaned):
        errors.setdefault("roles", []).append("must not contain control characters")
    if len(cleaned) > ROLES_MAX or any(len(role) > ROLE_MAX for role in cleaned):
        errors.setdefault("roles", []).append(
            f"at most {ROLES_MAX} roles of at most {ROLE_MAX} characters"
        )
    return cleaned


class HandlerRoster(CheapCopy, Aggregate):
    """Every handler account, its display name, roles and whether it takes tickets."""

    @staticmethod
    def create_id() -> UUID:
        """There is one roster on the platform."""
        return ROSTER_ID

    @event("Opened")
    def __init__(self, timestamp: datetime) -> None:
        self.handlers: dict[str, dict[str, Any]] = {}

    def active_handler(self, account_id: str) -> dict[str, Any] | None:
        """``{account_id, name}`` of an active handler, or None if unknown or inactive."""
        handler = self.handlers.get(account_id)
        if handler is None or not handler["active"]:
            return None
        return {"account_id": account_id, "name": handler["name"]}

    def is_deactivated(self, account_id: str) -> bool:
        """Whether the account is on the roster and not active (its commands are refused)."""
        handler = self.handlers.get(account_id)
        return handler is not None and not handler["active"]

    def forward_target(self, account_id: str, default_assignee: str) -> dict[str, Any] | None:
        """``{account_id, name}`` of whom a ticket may be forwarded to: an active handler, or
        the default assignee (an admin, whether or not on the roster); None otherwise."""
        if account_id == default_assignee and not self.is_deactivated(account_id):
            return {"account_id": account_id, "name": self.name_of(account_id)}
        return self.active_handler(account_id)

    def name_of(self, account_id: str) -> str:
        """The display name of a handler, or empty if the account is not on the roster."""
        handler = self.handlers.get(account_id)
        return "" if handler is None else str(handler["name"])

    def register(
        self, account_id: object, name: object, roles: object, active: object, *, at: datetime
    ) -> None:
        """Add a handler; an account is on the roster at most once."""
        errors: content.Errors = {}
        content.identifier(errors, "account_id", account_id)
        clean_name = content.trimmed_text(errors, "name", name, NAME_MAX)
        clean_roles = _clean_roles(errors, roles)
        if not isinstance(active, bool):
            errors.setdefault("active", []).append("must be true or false")
        content.raise_if_any(errors)
        assert isinstance(account_id, str)
        if account_id in self.handlers:
            raise InvalidTransition("this account is a handler already")
        self._record_registered(
            account_id=account_id,
            name=clean_name,
            roles=clean_roles,
            active=bool(active),
            timestamp=at,
        )

    def update(self, account_id: str, changes: dict[str, Any], *, at: datetime) -> None:
        """Change name, roles or active of a handler already on the roster."""
        if account_id not in self.handlers:
            raise KeyError(account_id)
        unknown = set(changes) - {"name", "roles", "active"}
        if unknown:
            raise ValidationFailed({field: ["unknown field"] for field in sorted(unknown)})
        errors: content.Errors = {}
        clean: dict[str, Any] = {}
        if "name" in changes:
            clean["name"] = content.trimmed_text(errors, "name", changes["name"], NAME_MAX)
        if "roles" in changes:
            clean["roles"] = _clean_roles(errors, changes["roles"])
        if "active" in changes:
            if not isinstance(changes["active"], bool):
                errors.setdefault("active", []).append("must be true or false")
            clean["active"] = changes["active"]
        content.raise_if_any(errors)
        self._record_updated(account_id=account_id, changes=clean, timestamp=at)

    @event("HandlerRegistered")
    def _record_registered(
        self, account_id: str, name: str, roles: list[str], active: bool, timestamp: datetime
    ) -> None:
        self.handlers[account_id] = {"name": name, "roles": roles, "active": active}

    @event("HandlerUpdated")
    def _record_updated(
        self, account_id: str, changes: dict[str, Any], timestamp: datetime
    ) -> None:
        self.handlers[account_id] = {**self.handlers[account_id], **changes}
