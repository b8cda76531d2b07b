"""Unbind MFA's e-mail verification end to end: the code arrives on notifications.email."""

from __future__ import annotations

import json
from typing import Any

import pytest

from application.config import Settings
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from domain.errors import ValidationFailed
from tests.integration.conftest import Runner, submit, user, workspace_with
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
    verification = app.verifications.request(alice, "alice@example.com")
    code = code_from_mailer(settings, str(verification.id))
    assert len(code) == 6
    assert code.isdigit()
    wait_until(lambda: WorkerPlumbing(app.store).outbox_batch(10) == [], timeout=10)

    ticket = unbind_mfa(app, alice, ws, str(verification.id), code).ticket
    assert ticket.verified_email == "alice@example.com"
    stored = [vars(e) for e in app.store.events.get(verification.id)]
    assert all(code not in json.dumps(e, default=str) for e in stored), "the store keeps no code"

    with pytest.raises(ValidationFailed) as reused:
        unbind_mfa(app, alice, ws, str(verification.id), code)
    assert "used" in reused.value.errors["verification"][0]
