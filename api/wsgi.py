"""WSGI entry point for ``ticketing serve`` (gunicorn loads ``api.wsgi:app``)."""

from __future__ import annotations

from api.app import create_app
from api.observability import configure_logging
from application.config import load_env_file

load_env_file()
configure_logging()
app = create_app()
