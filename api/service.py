"""Service endpoints (CONTRACT.md §2.6): liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.http import ticketing
from api.problems import problem

log = logging.getLogger(__name__)
blp = Blueprint("service", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> Response | dict[str, object]:
    """The database answers (503 otherwise)."""
    try:
        ticketing().ping_database()
    except Exception as error:
        log.warning("not ready: database unreachable: %s", error)
        return problem(503, "Service Unavailable", "the database is unreachable")
    return {"status": "ready", "checks": {"database": "ok"}}


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
