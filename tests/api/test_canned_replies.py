"""Canned replies over HTTP (CONTRACT.md §7): who keeps which, placeholders checked when saved
and filled in as text for the ticket at hand, and a history an auditor can read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, Auth, new_ticket

REPLIES = "/api/v1/admin/canned-replies"
ADMIN = (ADMIN_ID, "admin")


def handler() -> tuple[str, str]:
    return (f"hank-{uuid4().hex[:6]}", "handler")


def add(client: FlaskClient, auth: Auth, who: tuple[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post(REPLIES, json={"title": "T", "body": "B", **body}, headers=auth(*who))
    assert answer.status_code == 201, answer.get_json()
    document: dict[str, Any] = answer.get_json()
    return document


def ids(client: FlaskClient, auth: Auth, who: tuple[str, str], query: str = "") -> set[str]:
    answer = client.get(f"{REPLIES}?q={query}", headers=auth(*who))
    assert answer.status_code == 200
    return {reply["id"] for reply in answer.get_json()["items"]}


def test_handlers_see_shared_replies_and_their_own_admins_and_auditors_see_all(
    client: FlaskClient, auth: Auth
) -> None:
    hank, olga = handler(), handler()
    private = add(client, auth, hank, title=f"Mine {uuid4().hex}")
    shared = add(client, auth, ADMIN, title=f"Ours {uuid4().hex}", shared=True)
    assert private["shared"] is False
    assert private["owner"] == {"account_id": hank[0], "name": hank[0].title()}
    assert {private["id"], shared["id"]} <= ids(client, auth, hank)
    seen_by_olga = ids(client, auth, olga)
    assert shared["id"] in seen_by_olga
    assert private["id"] not in seen_by_olga
    assert client.get(f"{REPLIES}/{private['id']}", headers=auth(*olga)).status_code == 404
    for staff in (ADMIN, ("audrey", "auditor")):
        assert {private["id"], shared["id"]} <= ids(client, auth, staff)
    assert ids(client, auth, hank, shared["title"][5:].upper()) == {shared["id"]}
    assert client.get(REPLIES, headers=auth("alice")).status_code == 403
    refused = client.post(
        REPLIES, json={"title": "t", "body": "b"}, headers=auth("audrey", "auditor")
    )
    assert refused.status_code == 403


def test_only_admins_make_a_reply_shared_and_only_with_true_or_false(
    client: FlaskClient, auth: Auth
) -> None:
    hank = handler()
    before = ids(client, auth, ADMIN)
    refused = client.post(
        REPLIES, json={"title": "t", "body": "b", "shared": True}, headers=auth(*hank)
    )
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "only admins make shared canned replies"
    assert ids(client, auth, ADMIN) == before  # nothing added
    private = add(client, auth, hank, title=f"Mine {uuid4().hex}")
    flipped = client.patch(f"{REPLIES}/{private['id']}", json={"shared": True}, headers=auth(*hank))
    assert flipped.status_code == 403
    assert (
        client.get(f"{REPLIES}/{private['id']}", headers=auth(*hank)).get_json()["shared"] is False
    )
    for almost in (0, 1, "false", "on", None):
        for who, method, url in (
            (ADMIN, client.post, REPLIES),
            (hank, client.patch, f"{REPLIES}/{private['id']}"),
        ):
            body = (
                {"title": "t", "body": "b", "shared": almost}
                if method == client.post
                else {"shared": almost}
            )
            answer = method(url, json=body, headers=auth(*who))
            assert answer.status_code == 422, (almost, answer.get_json())
            assert "shared" in answer.get_json()["errors"]


def test_a_change_with_nothing_to_change_is_refused(client: FlaskClient, auth: Auth) -> None:
    reply = add(client, auth, ADMIN)
    bodies: list[dict[str, Any]] = [
        {"data": b"", "content_type": "application/json"},
        {"json": {}},
        {},
    ]
    for body in bodies:
        answer = client.patch(f"{REPLIES}/{reply['id']}", headers=auth(*ADMIN), **body)
        assert answer.status_code in (400, 422), (body, answer.status_code)
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert (
        client.get(f"{REPLIES}/{reply['id']}/history", headers=auth(*ADMIN)).get_json()[-1]["type"]
        == "ReplyAdded"
    )


def test_an_unknown_placeholder_is_refused_when_saved(client: FlaskClient, auth: Auth) -> None:
    answer = client.post(
        REPLIES,
        json={"title": "Hi", "body": "Dear {{customer.name}}, see {{ticket.number}}"},
        headers=auth(*ADMIN),
    )
    assert answer.status_code == 422
    assert "{{customer.name}}" in answer.get_json()["errors"]["body"][0]
    reply = add(client, auth, ADMIN, body="ok")
    changed = client.patch(
        f"{REPLIES}/{reply['id']}", json={"body": "{{nope}}"}, headers=auth(*ADMIN)
    )
    assert changed.status_code == 422


def test_admins_change_and_delete_shared_replies_handlers_only_their_private_ones(
    client: FlaskClient, auth: Auth
) -> None:
    hank = handler()
    shared = add(client, auth, ADMIN, shared=True)
    own = add(client, auth, hank)
    assert (
        client.patch(
            f"{REPLIES}/{shared['id']}", json={"title": "x"}, headers=auth(*hank)
        ).status_code
        == 403
    )
    assert client.delete(f"{REPLIES}/{shared['id']}", headers=auth(*hank)).status_code == 403
    renamed = client.patch(f"{REPLIES}/{own['id']}", json={"title": "Renamed"}, headers=auth(*hank))
    assert renamed.status_code == 200
    assert renamed.get_json()["title"] == "Renamed"
    edited = client.patch(
        f"{REPLIES}/{shared['id']}", json={"body": "New {{handler.name}}"}, headers=auth(*ADMIN)
    )
    assert edited.get_json()["body"] == "New {{handler.name}}"
    assert client.delete(f"{REPLIES}/{shared['id']}", headers=auth(*ADMIN)).status_code == 204
    assert client.get(f"{REPLIES}/{shared['id']}", headers=auth(*ADMIN)).status_code == 404
    assert client.delete(f"{REPLIES}/{shared['id']}", headers=auth(*ADMIN)).status_code == 404
    unknown = client.patch(f"{REPLIES}/{own['id']}", json={"owner": "me"}, headers=auth(*hank))
    assert unknown.status_code == 422


def test_an_auditor_reads_who_changed_a_shared_reply_and_when(
    client: FlaskClient, auth: Auth
) -> None:
    reply = add(client, auth, ADMIN, title="Cache", body="Clear it", shared=True)
    client.patch(f"{REPLIES}/{reply['id']}", json={"body": "Clear it now"}, headers=auth(*ADMIN))
    client.delete(f"{REPLIES}/{reply['id']}", headers=auth(*ADMIN))
    history = client.get(f"{REPLIES}/{reply['id']}/history", headers=auth("audrey", "auditor"))
    assert history.status_code == 200
    entries = history.get_json()
    assert [e["type"] for e in entries] == ["ReplyAdded", "ReplyChanged", "ReplyRemoved"]
    assert {e["actor"]["account_id"] for e in entries} == {ADMIN_ID}
    assert entries[1]["data"]["changes"] == {"body": "Clear it now"}
    assert (
        client.get(f"{REPLIES}/{reply['id']}/history", headers=auth(*handler())).status_code == 403
    )


@pytest.mark.parametrize(
    "title", ["<b>{{handler.name}}</b> & {{ticket.title}}", "Plain title"], ids=["markup", "plain"]
)
def test_a_preview_fills_in_the_ticket_at_hand_as_text_in_one_pass(
    client: FlaskClient, auth: Auth, member: Callable[..., str], title: str
) -> None:
    ticket = new_ticket(client, auth, "alice", member("alice"), title=title)
    body = 'Hi {{submitter.name}}, #{{ticket.number}} "{{ticket.title}}" - {{ handler.name }}'
    reply = add(client, auth, ADMIN, body=body, shared=True)
    hank = handler()
    answer = client.get(
        f"/api/v1/tickets/{ticket['id']}/canned-replies/{reply['id']}/preview",
        headers=auth(*ADMIN),
    )
    assert answer.status_code == 200
    assert answer.get_json()["body"] == (
        f'Hi Alice, #{ticket["number"]} "{title}" - {ADMIN_ID.title()}'
    )
    # a handler who does not see the ticket, and a user, get nothing
    preview = f"/api/v1/tickets/{ticket['id']}/canned-replies/{reply['id']}/preview"
    assert client.get(preview, headers=auth(*hank)).status_code == 404
    assert client.get(preview, headers=auth("alice")).status_code == 403
