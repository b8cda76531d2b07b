"""WSGI entry point for ``ticketing serve`` (gunicorn loads ``api.wsgi:app``)."""

from __future__ import annotations

from api.app import create_app
from application.config import Settings, load_env_file
from application.logs import configure_logging

load_env_file()
settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app({"SETTINGS": settings})
