"""Unbind MFA's e-mail verification through the application: codes, expiry, locks, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from application.clock import SettableClock
from application.errors import RateLimited
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from domain.errors import NotAllowed, ValidationFailed
from domain.verification import MAX_WRONG_TRIES
from tests.people import AUDITOR, submit, user, workspace_with


def unbind_mfa(app: TicketingApp, actor: Any, ws: str, verification_id: str, code: str) -> Any:
    return submit(app, actor, ws, ticket_type="unbind_mfa", verification=(verification_id, code))


def requested(app: TicketingApp, actor: Any) -> tuple[str, str]:
    """A verification and its code, read from the outbox (no publisher running)."""
    verification = app.verifications.request(actor, "me@example.com")
    [message] = [
        m
        for m in WorkerPlumbing(app.store).outbox_batch(1000)
        if m.payload["data"]["verification_id"] == str(verification.id)
    ]
    return str(verification.id), message.payload["data"]["code"]


def test_expiry(app: TicketingApp, clock: SettableClock) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    verification_id, code = requested(app, alice)
    clock.advance(timedelta(minutes=15, seconds=1))
    with pytest.raises(ValidationFailed) as expired:
        unbind_mfa(app, alice, ws, verification_id, code)
    assert "expired" in expired.value.errors["verification"][0]


def test_five_wrong_tries_lock_the_code(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    verification_id, code = requested(app, alice)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_WRONG_TRIES):
        with pytest.raises(ValidationFailed):
            unbind_mfa(app, alice, ws, verification_id, wrong)
    with pytest.raises(ValidationFailed) as locked:
        unbind_mfa(app, alice, ws, verification_id, code)
    assert "too many" in locked.value.errors["verification"][0]


def test_another_accounts_verification_is_unknown(app: TicketingApp) -> None:
    alice, mallory = user(), user()
    ws = workspace_with(app, alice, mallory)
    verification_id, code = requested(app, alice)
    with pytest.raises(ValidationFailed) as refused:
        unbind_mfa(app, mallory, ws, verification_id, code)
    assert refused.value.errors["verification"] == ["unknown verification"]
    assert (
        unbind_mfa(app, alice, ws, verification_id, code).ticket.verified_email == "me@example.com"
    )


def test_unbind_mfa_without_verification_and_bad_ids(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    with pytest.raises(ValidationFailed):
        submit(app, alice, ws, ticket_type="unbind_mfa")
    for verification_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(ValidationFailed):
            unbind_mfa(app, alice, ws, verification_id, "123456")


def test_requests_are_rate_limited_per_account(app: TicketingApp, clock: SettableClock) -> None:
    alice, bob = user(), user()
    for _ in range(5):
        app.verifications.request(alice, "a@example.com")
        clock.advance(timedelta(minutes=1))
    with pytest.raises(RateLimited) as limited:
        app.verifications.request(alice, "a@example.com")
    assert limited.value.retry_after == 5 * 60
    app.verifications.request(bob, "b@example.com")  # another account is not limited
    clock.advance(timedelta(minutes=5, seconds=1))
    app.verifications.request(alice, "a@example.com")
    with pytest.raises(NotAllowed):
        app.verifications.request(AUDITOR, "x@example.com")
