"""Refusals that come from the application rather than from a ticket's rules."""

from __future__ import annotations


class TicketNotFound(Exception):
    """No such ticket, or not visible to the caller (404)."""


class HandlerNotFound(Exception):
    """No such handler on the roster (404)."""


class CannedReplyNotFound(Exception):
    """No such canned reply, or not one the caller may read (404)."""


class VersionMismatch(Exception):
    """The ticket is not at the version the caller expected (``If-Match``, 412)."""

    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(f"the ticket is at version {current}")


class Contention(Exception):
    """A command lost the race to other writers too many times in a row (retryable, 409)."""


class IdempotencyKeyReused(Exception):
    """An ``Idempotency-Key`` came back with a different request (422)."""


class RateLimited(Exception):
    """Too many requests in the window; ``retry_after`` seconds until the next is allowed (429)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many requests; retry after {retry_after} s")


class AttachmentNotFound(Exception):
    """No such attachment, or not one the caller may download (404)."""


class AttachmentDamaged(Exception):
    """The stored bytes of an attachment are not the ones its events recorded (by their
    sha256): they are never served (502, the store behind the service answered wrongly)."""
