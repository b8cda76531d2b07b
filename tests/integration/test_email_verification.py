"""Unbind MFA's e-mail verification end to end: the code arrives on notifications.email."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from application.clock import SettableClock
from application.config import Settings
from application.errors import RateLimited
from application.tickets import TicketingApp
from domain.errors import NotAllowed, ValidationFailed
from domain.verification import MAX_WRONG_TRIES
from tests.integration.conftest import AUDITOR, Runner, submit, user, workspace_with
from tests.integration.kafka_support import read_topic, wait_until
from workers.publisher import OutboxPublisher


def code_from_mailer(settings: Settings, verification_id: str) -> str:
    """The code as the mailer receives it on notifications.email (other tests' codes, left in
    the shared outbox, may come first)."""

    def mine(record: Any) -> bool:
        return bool(json.loads(record.value)["data"]["verification_id"] == verification_id)

    records = read_topic(
        settings.kafka_bootstrap, settings.topic_email, 0, until=lambda rs: any(map(mine, rs))
    )
    for record in records:
        message = json.loads(record.value)
        if message["data"]["verification_id"] == verification_id:
            assert message["type"] == "EmailVerificationRequested"
            assert record.key == message["data"]["email"].encode()
            code: str = message["data"]["code"]
            return code
    raise AssertionError("the code never reached notifications.email")


def unbind_mfa(app: TicketingApp, actor: Any, ws: str, verification_id: str, code: str) -> Any:
    return submit(app, actor, ws, ticket_type="unbind_mfa", verification=(verification_id, code))


def test_the_code_goes_out_on_kafka_and_verifies_the_ticket(
    app: TicketingApp, settings: Settings, run: Runner
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    run(OutboxPublisher(app, settings).run)
    verification = app.request_email_verification(alice, "alice@example.com")
    code = code_from_mailer(settings, str(verification.id))
    assert len(code) == 6
    assert code.isdigit()
    wait_until(lambda: app.outbox_batch(10) == [], timeout=10)

    ticket = unbind_mfa(app, alice, ws, str(verification.id), code).ticket
    assert ticket.verified_email == "alice@example.com"
    stored = [vars(e) for e in app.events.get(verification.id)]
    assert all(code not in json.dumps(e, default=str) for e in stored), "the store keeps no code"

    with pytest.raises(ValidationFailed) as reused:
        unbind_mfa(app, alice, ws, str(verification.id), code)
    assert "used" in reused.value.errors["verification"][0]


def requested(app: TicketingApp, actor: Any) -> tuple[str, str]:
    """A verification and its code, read from the outbox (no publisher running)."""
    verification = app.request_email_verification(actor, "me@example.com")
    [message] = [
        m
        for m in app.outbox_batch(1000)
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
        app.request_email_verification(alice, "a@example.com")
        clock.advance(timedelta(minutes=1))
    with pytest.raises(RateLimited) as limited:
        app.request_email_verification(alice, "a@example.com")
    assert limited.value.retry_after == 5 * 60
    app.request_email_verification(bob, "b@example.com")  # another account is not limited
    clock.advance(timedelta(minutes=5, seconds=1))
    app.request_email_verification(alice, "a@example.com")
    with pytest.raises(NotAllowed):
        app.request_email_verification(AUDITOR, "x@example.com")
