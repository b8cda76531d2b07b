"""Service endpoints (CONTRACT.md §2.6): liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import socket

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.http import ticketing
from api.problems import problem

log = logging.getLogger(__name__)
blp = Blueprint("service", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a connection."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


@blp.get("/readyz")
def readyz() -> Response | dict[str, object]:
    """The database answers and the broker is reachable (503 otherwise)."""
    checks = {"database": "ok", "broker": "ok"}
    try:
        ticketing().ping_database()
    except Exception as error:
        log.warning("not ready: database unreachable: %s", error)
        checks["database"] = "unreachable"
    if not broker_reachable(current_app.config["KAFKA_BOOTSTRAP"]):
        log.warning("not ready: no Kafka broker reachable")
        checks["broker"] = "unreachable"
    if set(checks.values()) != {"ok"}:
        failed = ", ".join(name for name, state in checks.items() if state != "ok")
        return problem(503, "Service Unavailable", f"unreachable: {failed}", checks=checks)
    return {"status": "ready", "checks": checks}


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
