"""The entry point of ``ticketing serve`` (gunicorn loads ``api.server:app``)."""

from __future__ import annotations

from api.serving import serving_app
from api.wsgi import app as flask_app
from api.wsgi import settings

app = serving_app(flask_app, settings)
