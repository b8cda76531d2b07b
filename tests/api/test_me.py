"""The caller and their workspaces (CONTRACT.md §2.2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from application.tickets import TicketingApp
from tests.api.conftest import Auth

pytestmark = pytest.mark.usefixtures("projecting")


def test_me_is_the_caller_as_the_token_names_them(client: FlaskClient, auth: Auth) -> None:
    response = client.get("/api/v1/me", headers=auth("olga", "handler"))
    assert response.get_json() == {"account_id": "olga", "name": "Olga", "role": "handler"}
    assert client.get("/api/v1/me").status_code == 401


def test_my_workspaces_are_those_i_am_a_member_of_now(
    client: FlaskClient, auth: Auth, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    first, second = member("wanda"), member("wanda", "other")
    member("other")
    position = str(ticketing.store.recorder.max_notification_id())
    headers = auth("wanda", **{"X-Ticketing-Position": position})
    listed = client.get("/api/v1/me/workspaces", headers=headers).get_json()
    assert listed == {"items": [{"workspace_id": ws} for ws in sorted([first, second])]}
    ticketing.platform.member_left(first, "wanda", "left-" + first)
    position = str(ticketing.store.recorder.max_notification_id())
    headers = auth("wanda", **{"X-Ticketing-Position": position})
    listed = client.get("/api/v1/me/workspaces", headers=headers).get_json()
    assert listed == {"items": [{"workspace_id": second}]}
