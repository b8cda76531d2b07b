"""The ASGI application ``ticketing serve`` runs, built from the Flask application and the
settings: admission on the event loop (``api.admission``), requests on threads
(``api.asgi``), live streams on the loop (``api.streams``)."""

from __future__ import annotations

from flask import Flask

from api.admission import Admission, AdmissionLimits
from api.asgi import TicketingAsgi, WsgiOnThreads
from api.streams import STREAM_PATH, LiveStreams
from application.config import Settings
from projections.queries import TicketLists


def serving_app(flask_app: Flask, settings: Settings, threads: int | None = None) -> TicketingAsgi:
    """The whole HTTP side of one API process."""
    lists: TicketLists = flask_app.extensions["ticket_lists"]
    requests = Admission(
        WsgiOnThreads(flask_app, threads or settings.web_threads),
        settings.jwt_secret,
        lists.positions,
        lists.wait_timeout,
        AdmissionLimits(
            settings.requests_per_account,
            settings.exports_per_account,
            settings.requests_waiting_per_account,
        ),
    )
    return TicketingAsgi(
        requests, {STREAM_PATH: LiveStreams(settings.database_url, settings.jwt_secret)}
    )
