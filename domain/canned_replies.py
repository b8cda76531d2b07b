"""Canned replies (CONTRACT.md §7): answers support staff keep to insert instead of retyping.

One library holds every reply, an aggregate like the handler roster, so an auditor sees in the
store who added, changed or removed a shared reply and when. A body may name the placeholders
of ``PLACEHOLDERS``; any other ``{{...}}`` is refused when the reply is saved, so a handler
never inserts a reply with a hole in it. Filling in is one pass over the template: a value is
text, never read as a template again (a ticket titled ``{{handler.name}}`` stays that title).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain import content
from domain.actors import Actor, Role
from domain.copying import CheapCopy
from domain.errors import NotAllowed, ValidationFailed

LIBRARY_ID: UUID = uuid5(NAMESPACE_URL, "urn:ticketing:canned-replies")
TITLE_MAX = 200
PLACEHOLDERS = ("submitter.name", "ticket.number", "ticket.title", "handler.name")
_BRACE = re.compile("[{}]")  # one character class: no backtracking

Record = dict[str, Any]


def placeholders(template: str) -> Iterator[tuple[int, int, str]]:
    """Every ``{{ name }}`` of a template as (start, end, name), left to right: ``{{``, no brace
    inside, ``}}``; the name without the white space around it.

    A scan, not a regular expression: a pattern for this backtracks on ``{{`` and many spaces
    (cubic time: one body froze a process), and a handler writes the body. Here each character
    is looked at a bounded number of times."""
    start = 0
    while (opening := template.find("{{", start)) >= 0:
        inside = opening + 2
        brace = _BRACE.search(template, inside)
        if brace is None:
            return
        end = brace.start()
        if template.startswith("}}", end):
            yield opening, end + 2, template[inside:end].strip()
            start = end + 2
        else:  # no "{{" can start between here and the brace, so go on from the brace
            start = end if end > inside else opening + 1


def unknown_placeholders(template: str) -> list[str]:
    """The ``{{...}}`` of a body that are not placeholders of ``PLACEHOLDERS``, in order."""
    return [
        template[start:end]
        for start, end, name in placeholders(template)
        if name not in PLACEHOLDERS
    ]


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value, as text, in one pass."""
    parts: list[str] = []
    done = 0
    for start, end, name in placeholders(template):
        parts += (template[done:start], values.get(name, template[start:end]))
        done = end
    return "".join(parts) + template[done:]


def may_read(actor: Actor, reply: Record) -> bool:
    """Admins and auditors see every reply; a handler sees the shared ones and their own."""
    if actor.role in (Role.ADMIN, Role.AUDITOR):
        return True
    return actor.role is Role.HANDLER and (
        reply["shared"] or reply["owner"]["account_id"] == actor.account_id
    )


def may_change(actor: Actor, reply: Record) -> bool:
    """Admins change and delete any reply; a handler only a reply of their own that is not
    shared (a shared one is the team's: only an admin touches it)."""
    if actor.role is Role.ADMIN:
        return True
    return (
        actor.role is Role.HANDLER
        and not reply["shared"]
        and reply["owner"]["account_id"] == actor.account_id
    )


def _check_may_share(actor: Actor, clean: Record) -> None:
    """Only admins make a reply shared: a shared reply is the team's, and a handler who made
    one could not change it afterwards."""
    if clean.get("shared") and actor.role is not Role.ADMIN:
        raise NotAllowed("only admins make shared canned replies")


def _clean(errors: content.Errors, changes: Mapping[str, object]) -> Record:
    """The fields of ``changes`` checked and trimmed (``title``, ``body``, ``shared``)."""
    clean: Record = {}
    if "title" in changes:
        clean["title"] = content.trimmed_text(errors, "title", changes["title"], TITLE_MAX)
    if "body" in changes:
        body = content.trimmed_text(errors, "body", changes["body"], content.BODY_MAX)
        unknown = unknown_placeholders(body)
        if unknown:
            known = ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
            errors.setdefault("body", []).append(
                f"unknown placeholder {', '.join(unknown)}; known: {known}"
            )
        clean["body"] = body
    if "shared" in changes:
        if not isinstance(changes["shared"], bool):
            errors.setdefault("shared", []).append("must be true or false")
        clean["shared"] = changes["shared"]
    return clean


class CannedReplies(CheapCopy, Aggregate):
    """Every canned reply on the platform: ``{id: {id, title, body, shared, owner}}``."""

    @staticmethod
    def create_id() -> UUID:
        """There is one library on the platform."""
        return LIBRARY_ID

    @event("Opened")
    def __init__(self, timestamp: datetime) -> None:
        self.replies: dict[str, Record] = {}

    # ----------------------------------------------------------------- commands

    def add(
        self, actor: Actor, title: object, body: object, shared: object, *, at: datetime
    ) -> str:
        """A new reply owned by the actor (handlers and admins; shared: admins only); returns
        its id."""
        if actor.role not in (Role.HANDLER, Role.ADMIN):
            raise NotAllowed("only handlers and admins add canned replies")
        errors: content.Errors = {}
        clean = _clean(errors, {"title": title, "body": body, "shared": shared})
        content.raise_if_any(errors)
        _check_may_share(actor, clean)
        reply_id = str(uuid4())
        owner = {"account_id": actor.account_id, "name": actor.name}
        self._record_added(
            reply_id=reply_id, **clean, owner=owner, actor=actor.as_record(), timestamp=at
        )
        return reply_id

    def change(
        self, actor: Actor, reply_id: str, changes: Mapping[str, object], *, at: datetime
    ) -> None:
        """Change a reply's title, body or sharing (``may_change``); KeyError if unknown."""
        reply = self.visible(actor, reply_id)
        if not may_change(actor, reply):
            raise NotAllowed("only admins change shared canned replies")
        unknown = sorted(set(changes) - {"title", "body", "shared"})
        if unknown:
            raise ValidationFailed({name: ["unknown field"] for name in unknown})
        errors: content.Errors = {}
        clean = _clean(errors, changes)
        content.raise_if_any(errors)
        _check_may_share(actor, clean)
        if clean and any(reply[name] != value for name, value in clean.items()):
            self._record_changed(
                reply_id=reply_id, changes=clean, actor=actor.as_record(), timestamp=at
            )

    def remove(self, actor: Actor, reply_id: str, *, at: datetime) -> None:
        """Delete a reply (``may_change``); KeyError if unknown."""
        reply = self.visible(actor, reply_id)
        if not may_change(actor, reply):
            raise NotAllowed("only admins delete shared canned replies")
        self._record_removed(reply_id=reply_id, actor=actor.as_record(), timestamp=at)

    # ----------------------------------------------------------------- queries

    def visible(self, actor: Actor, reply_id: str) -> Record:
        """A reply the actor may read; KeyError if there is none such (unknown and hidden
        alike: a handler cannot tell a colleague's private reply exists)."""
        reply = self.replies.get(reply_id)
        if reply is None or not may_read(actor, reply):
            raise KeyError(reply_id)
        return reply

    def readable_by(self, actor: Actor, query: str = "") -> list[Record]:
        """The replies the actor may read whose title contains ``query`` (any case), by
        title."""
        needle = query.strip().casefold()
        return sorted(
            (
                reply
                for reply in self.replies.values()
                if may_read(actor, reply) and needle in reply["title"].casefold()
            ),
            key=lambda reply: (reply["title"].casefold(), reply["id"]),
        )

    # ----------------------------------------------------------------- events

    @event("ReplyAdded")
    def _record_added(
        self,
        reply_id: str,
        title: str,
        body: str,
        shared: bool,
        owner: Record,
        actor: Record,
        timestamp: datetime,
    ) -> None:
        reply = {"id": reply_id, "title": title, "body": body, "shared": shared}
        self.replies[reply_id] = {**reply, "owner": owner, "updated_at": timestamp}

    @event("ReplyChanged")
    def _record_changed(
        self, reply_id: str, changes: Record, actor: Record, timestamp: datetime
    ) -> None:
        self.replies[reply_id] = {**self.replies[reply_id], **changes, "updated_at": timestamp}

    @event("ReplyRemoved")
    def _record_removed(self, reply_id: str, actor: Record, timestamp: datetime) -> None:
        del self.replies[reply_id]
