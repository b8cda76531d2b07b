"""E-mail verification for Unbind MFA: a 6-digit code, valid 15 minutes, at most 5 wrong
tries, usable once, only by the account that asked for it (CONTRACT.md §2.4).

The aggregate holds only a keyed hash of the code; the application hashes what users type.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ValidationFailed

CODE_TTL = timedelta(minutes=15)
MAX_WRONG_TRIES = 5
EMAIL_MAX = 254


def _plausible(address: str) -> bool:
    """One ``@``, no white space, and a dot inside the domain: split and looked at, not a
    pattern (one with ``[^@\\s]+\\.[^@\\s]+`` backtracks on a domain of dots)."""
    local, at, domain = address.partition("@")
    return bool(
        at
        and local
        and "." in domain[1:-1]
        and "@" not in domain
        and not any(character.isspace() for character in address)
    )


def valid_email(value: object) -> str:
    """A plausible e-mail address (trimmed), or a 422 refusal."""
    if (
        not isinstance(value, str)
        or len(value.strip()) > EMAIL_MAX
        or not _plausible(value.strip())
    ):
        raise ValidationFailed({"email": ["must be an e-mail address"]})
    return value.strip()


def _refused(reason: str) -> ValidationFailed:
    return ValidationFailed({"verification": [reason]})


class EmailVerification(Aggregate):
    """One code sent to one address for one account."""

    @event("Requested")
    def __init__(
        self, account_id: str, email: str, code_hash: str, expires_at: datetime, timestamp: datetime
    ) -> None:
        self.account_id = account_id
        self.email = email
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.wrong_tries = 0
        self.used_for: str | None = None

    @classmethod
    def request(
        cls, account_id: str, email: object, code_hash: str, *, at: datetime
    ) -> EmailVerification:
        """Start a verification of ``email`` for an account."""
        return cls(
            account_id=account_id,
            email=valid_email(email),
            code_hash=code_hash,
            expires_at=at + CODE_TTL,
            timestamp=at,
        )

    def check(self, account_id: str, code_hash: str, *, now: datetime) -> bool:
        """Whether the code is right; a wrong one is recorded. Other refusals raise (422)."""
        if account_id != self.account_id:
            raise _refused("unknown verification")
        if self.used_for is not None:
            raise _refused("this verification has been used already")
        if now > self.expires_at:
            raise _refused("the code has expired; request a new one")
        if self.wrong_tries >= MAX_WRONG_TRIES:
            raise _refused("too many wrong codes; request a new one")
        if hmac.compare_digest(code_hash, self.code_hash):
            return True
        self._record_wrong_code(timestamp=now)
        return False

    def use(self, ticket_id: UUID, *, at: datetime) -> None:
        """The verified address goes on a ticket; the code cannot serve again."""
        self._record_used(ticket_id=str(ticket_id), timestamp=at)

    @event("WrongCodeEntered")
    def _record_wrong_code(self, timestamp: datetime) -> None:
        self.wrong_tries += 1

    @event("Used")
    def _record_used(self, ticket_id: str, timestamp: datetime) -> None:
        self.used_for = ticket_id
