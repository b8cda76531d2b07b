"""Refusals the domain raises; each maps to one HTTP status in the API layer."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was recorded."""


class ValidationFailed(DomainError):
    """Input breaks a content rule (422). ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        fields = ", ".join(sorted(errors))
        super().__init__(f"invalid fields: {fields}")


class NotAllowed(DomainError):
    """The caller is not one the rule names for this command (403)."""


class InvalidTransition(DomainError):
    """The command is not allowed in the ticket's current state (409)."""
