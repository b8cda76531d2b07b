"""The entry point of ``ticketing serve`` (gunicorn loads ``api.server:app``): the Flask
application on threads, the live streams on the event loop (``api.asgi``)."""

from __future__ import annotations

from api.asgi import TicketingAsgi, WsgiOnThreads
from api.streams import STREAM_PATH, LiveStreams
from api.wsgi import app as flask_app
from api.wsgi import settings

app = TicketingAsgi(
    WsgiOnThreads(flask_app, settings.web_threads),
    {STREAM_PATH: LiveStreams(settings.database_url, settings.jwt_secret)},
)
