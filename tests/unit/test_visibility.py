"""Who may see which list (CONTRACT.md §1, Visibility), without a database."""

from __future__ import annotations

import pytest

from domain.actors import Actor, Role
from domain.errors import NotAllowed
from projections import visibility


def actor(role: Role) -> Actor:
    return Actor(account_id=f"{role}-1", role=role, name=str(role))


def test_all_tickets_are_for_current_members_only() -> None:
    member = actor(Role.USER)
    assert visibility.all_tickets(member, "ws-1", is_member=True).name == "workspace:ws-1"
    for role in Role:
        with pytest.raises(NotAllowed):
            visibility.all_tickets(actor(role), "ws-1", is_member=False)


@pytest.mark.parametrize("role", list(Role))
def test_queues_and_the_whole_platform_by_role(role: Role) -> None:
    someone = actor(role)
    if role in (Role.HANDLER, Role.ADMIN):
        assert visibility.queue(someone).name == f"handler:{someone.account_id}"
    else:
        with pytest.raises(NotAllowed):
            visibility.queue(someone)
    if role in (Role.ADMIN, Role.AUDITOR):
        assert visibility.every_ticket(someone).name == "admin"
    else:
        with pytest.raises(NotAllowed):
            visibility.every_ticket(someone)
    assert visibility.my_tickets(someone).name == f"mine:{someone.account_id}"
