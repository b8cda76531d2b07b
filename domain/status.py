"""Ticket statuses as users see them, the handlers' queue view, and close reasons."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A ticket's status (CONTRACT.md §1)."""

    WAITING_FOR_ASSIGNMENT = "waiting_for_assignment"
    WAITING_FOR_FEEDBACK = "waiting_for_feedback"
    FEEDBACK_PROVIDED = "feedback_provided"
    CLOSED = "closed"
    REVOKED = "revoked"


# as people read them: the help centre's names (CONTRACT.md §5), in the console and exports
STATUS_NAMES: dict[str, str] = {
    Status.WAITING_FOR_ASSIGNMENT: "Waiting for Assignment",
    Status.WAITING_FOR_FEEDBACK: "Waiting for Feedback",
    Status.FEEDBACK_PROVIDED: "Feedback Provided",
    Status.CLOSED: "Closed",
    Status.REVOKED: "Revoked",
}


class QueueState(StrEnum):
    """The same status as the support side sees it."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


QUEUE_STATE: dict[Status, QueueState] = {
    Status.WAITING_FOR_ASSIGNMENT: QueueState.PENDING,
    Status.WAITING_FOR_FEEDBACK: QueueState.PROCESSING,
    Status.FEEDBACK_PROVIDED: QueueState.PROCESSING,
    Status.CLOSED: QueueState.COMPLETED,
    Status.REVOKED: QueueState.CANCELLED,
}


class CloseReason(StrEnum):
    """Why a ticket was closed."""

    SUBMITTER = "submitter"
    COMPLETED = "completed"
    INACTIVITY = "inactivity"
    ACCOUNT_CANCELLED = "account_cancelled"
    WORKSPACE_DISSOLVED = "workspace_dissolved"


class Action(StrEnum):
    """Commands a caller may be offered on a ticket (``allowed_actions``)."""

    REPLY = "reply"
    REVOKE = "revoke"
    RESTART = "restart"
    CLOSE = "close"
    RATE = "rate"
    ACCEPT = "accept"
    FORWARD = "forward"
    COMPLETE = "complete"
