"""The handler roster that admins keep (``/admin/handlers``)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from application.errors import HandlerNotFound
from application.store import TicketingStore
from domain.actors import Actor, Role
from domain.errors import NotAllowed
from domain.handlers import ROSTER_ID, HandlerRoster

NAMES_KEPT_SECONDS = 2.0  # how long a process shows the roster's names before reading them again


class HandlerAdministration:
    """Registering, changing and looking up handlers."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store
        self._names: tuple[float, dict[str, str]] = (0.0, {})  # (read until, account -> name)

    def display_names(self) -> dict[str, str]:
        """Account id -> the roster's name, for showing people (CONTRACT.md §5: the roster's
        name, else the one the ticket recorded, else the id). Read again at most every
        ``NAMES_KEPT_SECONDS`` per process, and at once after a change made here: every view
        shows a renamed handler's new name within that time, at no cost per request."""
        until, names = self._names
        if until > time.monotonic():
            return names
        roster = self.roster(read_only=True)
        names = {
            account_id: str(entry["name"])
            for account_id, entry in roster.handlers.items()
            if entry["name"]
        }
        self._names = (time.monotonic() + NAMES_KEPT_SECONDS, names)
        return names

    def display_name(self, account_id: str, recorded: str = "") -> str:
        """How a person is shown where a name must stand (exports, reports, presence): the
        roster's name, else the one recorded (the token's), else the account id."""
        return self.display_names().get(account_id) or recorded or account_id

    def roster(self, *, read_only: bool = False) -> HandlerRoster:
        """The handler roster (empty if no handler was ever registered); ``read_only`` when
        the caller only looks."""
        return self.store.find(HandlerRoster, ROSTER_ID, read_only=read_only) or HandlerRoster(
            timestamp=self.store.clock.now()
        )

    def register_handler(
        self, actor: Actor, account_id: object, name: object, roles: object, active: object = True
    ) -> HandlerRoster:
        """An admin adds a handler to the roster."""
        self._require_admin(actor)

        def attempt() -> HandlerRoster:
            roster = self.roster()
            roster.register(account_id, name, roles, active, at=self.store.clock.now())
            self.store.commit(roster)
            self._names = (0.0, {})
            return roster

        return self.store.retrying(attempt)

    def update_handler(
        self, actor: Actor, account_id: str, changes: dict[str, Any]
    ) -> HandlerRoster:
        """An admin renames, re-roles, activates or deactivates a handler."""
        self._require_admin(actor)

        def attempt() -> HandlerRoster:
            roster = self.roster()
            try:
                roster.update(account_id, changes, at=self.store.clock.now())
            except KeyError:
                raise HandlerNotFound(account_id) from None
            self.store.commit(roster)
            self._names = (0.0, {})
            return roster

        return self.store.retrying(attempt)

    def default_assignee(self) -> dict[str, Any]:
        """Who new and restarted tickets go to: ``{account_id, name}``."""
        account_id = self.store.default_assignee
        return {"account_id": account_id, "name": self.roster(read_only=True).name_of(account_id)}

    def check_active(self, actor: Actor) -> None:
        """A deactivated handler's (or admin's) commands are refused (CONTRACT.md §1)."""
        if actor.role in (Role.HANDLER, Role.ADMIN) and self.roster(read_only=True).is_deactivated(
            actor.account_id
        ):
            raise NotAllowed("this handler account is deactivated")

    def name_of(self, actor: Actor) -> str:
        """How a staff member is named: as on the roster, else as in their token."""
        return self.roster(read_only=True).name_of(actor.account_id) or actor.name

    def named(self, actor: Actor) -> Actor:
        """The actor under the name to record: the roster's for staff, else the token's."""
        if actor.role not in (Role.HANDLER, Role.ADMIN):
            return actor
        return replace(actor, name=self.name_of(actor))

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if actor.role is not Role.ADMIN:
            raise NotAllowed("only admins manage handlers")
