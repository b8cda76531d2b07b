"""E-mail verification codes for Unbind MFA: request, rate limit, and check at submission.

The code goes out on ``notifications.email`` through the outbox (written with the
verification's first event, deleted once published); the event store keeps only a keyed
hash of it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from application.errors import RateLimited
from application.records import Alongside, OutboxMessage, VerificationRequest
from application.store import TicketingStore
from domain.actors import Actor, Role
from domain.errors import NotAllowed, ValidationFailed
from domain.verification import EmailVerification

REQUESTS_PER_WINDOW = 5
RATE_WINDOW = timedelta(minutes=10)
EMAIL_CHANNEL = "email"


class EmailVerifications:
    """Issues and checks e-mail verification codes."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store

    def request(self, actor: Actor, email: object) -> EmailVerification:
        """Send a 6-digit code to ``email`` for this account (429 past the rate limit)."""
        if actor.role is Role.AUDITOR:
            raise NotAllowed("auditors change nothing")
        now = self.store.clock.now()
        recent = self.store.ledger.recent_verification_requests(actor.account_id, now - RATE_WINDOW)
        if len(recent) >= REQUESTS_PER_WINDOW:
            free_at = recent[-REQUESTS_PER_WINDOW] + RATE_WINDOW
            raise RateLimited(max(1, math.ceil((free_at - now).total_seconds())))
        code = f"{secrets.randbelow(1_000_000):06d}"
        verification = EmailVerification.request(actor.account_id, email, self._hash(code), at=now)
        message = OutboxMessage(
            channel=EMAIL_CHANNEL,
            key=verification.email,
            payload={
                "event_id": str(uuid4()),
                "type": "EmailVerificationRequested",
                "occurred_at": now.isoformat(),
                "data": {
                    "email": verification.email,
                    "code": code,
                    "verification_id": str(verification.id),
                    "expires_at": verification.expires_at.isoformat(),
                },
            },
        )
        request = VerificationRequest(verification.id, actor.account_id, now)
        self.store.commit(
            verification, alongside=Alongside(outbox=[message], verification_request=request)
        )
        return verification

    def checked(
        self, actor: Actor, verification_id: str, code: str, now: datetime
    ) -> EmailVerification:
        """The caller's verification if the code is right; a wrong code is recorded (422)."""
        try:
            verification = self.store.find(EmailVerification, UUID(verification_id))
        except ValueError:
            verification = None
        if verification is None:
            raise ValidationFailed({"verification": ["unknown verification"]})
        if not verification.check(actor.account_id, self._hash(code), now=now):
            self.store.commit(verification)
            raise ValidationFailed({"verification": ["wrong code"]})
        return verification

    def _hash(self, code: str) -> str:
        return hmac.new(self.store.code_key, code.encode(), hashlib.sha256).hexdigest()
