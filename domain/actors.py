"""Who issues a command: an account with one role, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Roles carried in the caller's token, plus the system's own."""

    USER = "user"
    HANDLER = "handler"
    ADMIN = "admin"
    AUDITOR = "auditor"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The account behind a command, as events record it."""

    account_id: str
    role: Role
    name: str = ""

    def as_record(self) -> dict[str, Any]:
        """The actor as stored in events (JSON-friendly)."""
        return {"account_id": self.account_id, "role": str(self.role), "name": self.name}


SYSTEM = Actor(account_id="system", role=Role.SYSTEM, name="Ticketing")
