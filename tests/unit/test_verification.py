"""E-mail verification rules: expiry, wrong tries, single use, owner only."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import ValidationFailed
from domain.verification import MAX_WRONG_TRIES, EmailVerification, valid_email
from tests.unit.builders import T0


def verification() -> EmailVerification:
    return EmailVerification.request("alice", " me@example.com ", "right", at=T0)


def refusal(action: object) -> str:
    with pytest.raises(ValidationFailed) as caught:
        action()  # type: ignore[operator]
    return caught.value.errors["verification"][0]


def test_a_right_code_in_time_checks() -> None:
    v = verification()
    assert v.email == "me@example.com"
    assert v.check("alice", "right", now=T0 + timedelta(minutes=15)) is True


def test_expiry() -> None:
    v = verification()
    assert "expired" in refusal(
        lambda: v.check("alice", "right", now=T0 + timedelta(minutes=15, seconds=1))
    )


def test_only_the_requesting_account() -> None:
    assert "unknown" in refusal(lambda: verification().check("bob", "right", now=T0))


def test_five_wrong_codes_lock_it() -> None:
    v = verification()
    for _ in range(MAX_WRONG_TRIES):
        assert v.check("alice", "wrong", now=T0) is False
    assert v.wrong_tries == MAX_WRONG_TRIES
    assert "too many" in refusal(lambda: v.check("alice", "right", now=T0))


def test_single_use() -> None:
    v = verification()
    v.use(uuid4(), at=T0)
    assert "used" in refusal(lambda: v.check("alice", "right", now=T0))


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a b@c.d", None, 5, "x" * 250 + "@a.bc"])
def test_bad_addresses(email: object) -> None:
    with pytest.raises(ValidationFailed):
        valid_email(email)
