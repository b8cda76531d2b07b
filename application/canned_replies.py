"""Canned replies (CONTRACT.md §7): keeping them, and filling one in for a ticket."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from application.errors import CannedReplyNotFound
from application.history import HistoryEntry, history_entry
from application.roster import HandlerAdministration
from application.store import TicketingStore
from domain import canned_replies
from domain.actors import Actor, Role
from domain.canned_replies import LIBRARY_ID, CannedReplies, Record
from domain.errors import NotAllowed

T = TypeVar("T")


class CannedReplyLibrary:
    """Listing, adding, changing, removing and filling in canned replies."""

    def __init__(self, store: TicketingStore, handlers: HandlerAdministration) -> None:
        self.store = store
        self.handlers = handlers

    def library(self, *, read_only: bool = False) -> CannedReplies:
        """The library (empty if nobody ever added a reply)."""
        found = self.store.find(CannedReplies, LIBRARY_ID, read_only=read_only)
        return found or CannedReplies(timestamp=self.store.clock.now())

    def readable(self, actor: Actor, query: str = "") -> list[Record]:
        """The replies the caller may read, by title; ``query``: part of the title."""
        _require_staff(actor)
        return self.library(read_only=True).readable_by(actor, query)

    def get(self, actor: Actor, reply_id: str) -> Record:
        """One reply the caller may read."""
        _require_staff(actor)
        return self._visible(self.library(read_only=True), actor, reply_id)

    def add(self, actor: Actor, title: object, body: object, shared: object) -> Record:
        """A new reply (handlers and admins), owned by the caller as the roster names them."""
        self.handlers.check_active(actor)
        named = self.handlers.named(actor)

        def change(library: CannedReplies) -> str:
            return library.add(named, title, body, shared, at=self.store.clock.now())

        return self._changing(change)

    def change(self, actor: Actor, reply_id: str, changes: Mapping[str, object]) -> Record:
        """Change a reply's title, body or sharing (admins; a handler their own private one)."""
        self.handlers.check_active(actor)

        def change(library: CannedReplies) -> str:
            self._visible(library, actor, reply_id)
            library.change(actor, reply_id, changes, at=self.store.clock.now())
            return reply_id

        return self._changing(change)

    def remove(self, actor: Actor, reply_id: str) -> None:
        """Delete a reply (as ``change``)."""
        self.handlers.check_active(actor)

        def change(library: CannedReplies) -> None:
            self._visible(library, actor, reply_id)
            library.remove(actor, reply_id, at=self.store.clock.now())

        self.store.retrying(lambda: self._commit(change))

    def history(self, actor: Actor, reply_id: str) -> list[HistoryEntry]:
        """Who added, changed and removed a reply, and when (admins and auditors); a removed
        reply's history stays readable."""
        if actor.role not in (Role.ADMIN, Role.AUDITOR):
            raise NotAllowed("only admins and auditors read the history of canned replies")
        entries = [
            history_entry(event)
            for event in self.store.events.get(LIBRARY_ID)
            if getattr(event, "reply_id", None) == reply_id
        ]
        if not entries:
            raise CannedReplyNotFound(reply_id)
        return entries

    def fill_in(self, actor: Actor, ticket_id: str, reply_id: str) -> Record:
        """The reply with its placeholders filled in for a ticket the caller sees."""
        _require_staff(actor)
        ticket = self.store.visible_ticket(actor, ticket_id)
        reply = self._visible(self.library(read_only=True), actor, reply_id)
        submitter = ticket.submitter
        values = {
            "submitter.name": str(submitter.get("name") or submitter["account_id"]),
            "ticket.number": str(ticket.number),
            "ticket.title": ticket.title,
            "handler.name": self.handlers.name_of(actor) or actor.account_id,
        }
        return {**reply, "body": canned_replies.fill(reply["body"], values)}

    # ------------------------------------------------------------------ helpers

    def _changing(self, change: Callable[[CannedReplies], str]) -> Record:
        reply_id, library = self.store.retrying(lambda: self._commit(change))
        return library.replies[reply_id]

    def _commit(self, change: Callable[[CannedReplies], T]) -> tuple[T, CannedReplies]:
        library = self.library()
        outcome = change(library)
        self.store.commit(library)
        return outcome, library

    @staticmethod
    def _visible(library: CannedReplies, actor: Actor, reply_id: str) -> Record:
        try:
            return library.visible(actor, reply_id)
        except KeyError:
            raise CannedReplyNotFound(reply_id) from None


def _require_staff(actor: Actor) -> None:
    if actor.role not in (Role.HANDLER, Role.ADMIN, Role.AUDITOR):
        raise NotAllowed("canned replies are for support staff")
