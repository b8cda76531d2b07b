"""The application's facade: ticket commands and queries, and the other use cases by name.

``TicketingApp`` is what the HTTP API and the workers are given. It holds the event store
(``store``) and one object per group of use cases; ticket commands and queries, the bulk of
the API, are its own methods::

    app.submit(...), app.reply(...), app.close(...), app.ticket(...), app.history(...)
    app.platform.member_joined(...)          # facts from the platform's Kafka topics
    app.handlers.register_handler(...)       # the handler roster
    app.attachments.upload(...)              # files
    app.canned_replies.add(...)              # answers staff insert instead of retyping
    app.verifications.request(...)           # e-mail codes for Unbind MFA
    app.housekeeping.close_if_inactive(...)  # what the sweeps do
"""

from __future__ import annotations

from application.attachments import Attachments
from application.canned_replies import CannedReplyLibrary
from application.commands import TicketCommands
from application.housekeeping import Housekeeping
from application.platform_facts import PlatformFacts
from application.queries import TicketQueries
from application.results import CommandResult, IdempotencyKey
from application.roster import HandlerAdministration
from application.store import TicketingStore
from application.verifications import EmailVerifications

__all__ = ["CommandResult", "IdempotencyKey", "TicketingApp"]


class TicketingApp(TicketCommands, TicketQueries):
    """Ticket commands and queries on one event store, and the other use cases beside them."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store
        self.handlers = HandlerAdministration(store)
        self.attachments = Attachments(store)
        self.canned_replies = CannedReplyLibrary(store, self.handlers)
        self.verifications = EmailVerifications(store)
        self.platform = PlatformFacts(store)
        self.housekeeping = Housekeeping(store)
