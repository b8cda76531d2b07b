"""Service endpoints (CONTRACT.md §2.6): liveness, readiness and Prometheus metrics.

``/healthz`` touches nothing but the process. ``/readyz`` answers within 2 s whatever the
database or the broker do: each check has its own short deadline, and a check that runs out of
time counts as failed.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.auth import current_actor
from api.http import ticketing
from api.problems import problem
from application.database import deadline
from domain.actors import Role
from domain.errors import NotAllowed
from projections.health import ProjectionHealth, read_health
from projections.view import ReadModelView

log = logging.getLogger(__name__)
blp = Blueprint("service", __name__)
DATABASE_CHECK = 1.0  # seconds for the readiness check's database queries
BROKER_CHECK = 0.5  # seconds for reaching a bootstrap server, all of them together


@blp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def broker_reachable(bootstrap: str, budget: float = BROKER_CHECK) -> bool:
    """Whether any bootstrap server accepts a connection within ``budget`` seconds in all."""
    ends = time.monotonic() + budget
    for server in bootstrap.split(","):
        left = ends - time.monotonic()
        if left <= 0:
            return False
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=left):
                return True
        except (OSError, ValueError):
            continue
    return False


def projection_health() -> ProjectionHealth:
    """The read models' health (the caller bounds the time it may take)."""
    view: ReadModelView = current_app.extensions["read_models"]
    return read_health(view, ticketing().store.recorder.max_notification_id() or 0)


@blp.get("/readyz")
def readyz() -> Response | dict[str, object]:
    """The database answers, the broker is reachable, the read models are not stalled."""
    checks = {"database": "ok", "broker": "ok", "read_models": "ok"}
    try:
        with deadline(DATABASE_CHECK):
            ticketing().store.infrastructure.ping()
            health = projection_health()
        if health.stalled:
            checks["read_models"] = "stalled"
            log.warning("not ready: read models stalled (%d events behind)", health.lag)
    except Exception as error:
        log.warning("not ready: database unreachable: %s", error)
        checks["database"] = "unreachable"
        checks["read_models"] = "unknown"
    if not broker_reachable(current_app.config["KAFKA_BOOTSTRAP"]):
        log.warning("not ready: no Kafka broker reachable")
        checks["broker"] = "unreachable"
    if set(checks.values()) != {"ok"}:
        failed = ", ".join(f"{name} {state}" for name, state in checks.items() if state != "ok")
        response = problem(503, "Service Unavailable", f"not ready: {failed}", checks=checks)
        response.headers["Retry-After"] = "5"
        return response
    return {"status": "ready", "checks": checks}


class _ProjectionMetrics(Collector):
    """Lag, progress and failures of the read models, read when scraped."""

    def __init__(self, health: ProjectionHealth) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        """One sample of each, labelled with the read model's name."""
        health, labels = self.health, [self.health.name]
        lag = GaugeMetricFamily(
            "ticketing_projection_lag_events", "Events stored but not yet projected",
            labels=["projection"],
        )  # fmt: skip
        lag.add_metric(labels, health.lag)
        stalled = GaugeMetricFamily(
            "ticketing_projection_stalled", "1 while events wait and the projection is stuck",
            labels=["projection"],
        )  # fmt: skip
        stalled.add_metric(labels, int(health.stalled))
        failures = CounterMetricFamily(
            "ticketing_projection_failures", "Times the projection failed and restarted",
            labels=["projection"],
        )  # fmt: skip
        failures.add_metric(labels, health.failures)
        yield from (lag, stalled, failures)
        if health.seconds_since_progress is not None:
            idle = GaugeMetricFamily(
                "ticketing_projection_seconds_since_progress",
                "Seconds since the projection last moved or was caught up",
                labels=["projection"],
            )
            idle.add_metric(labels, health.seconds_since_progress)
            yield idle


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process, and of the read models it serves: for a bearer
    token of an admin or an auditor, or to anyone on the metrics port, if one is configured
    (``TICKETING_METRICS_BIND``: a port a scraper reaches and the public does not)."""
    metrics_port = current_app.config.get("METRICS_PORT")
    on_metrics_port = metrics_port and request.environ.get("SERVER_PORT") == str(metrics_port)
    if not on_metrics_port and current_actor().role not in (Role.ADMIN, Role.AUDITOR):
        raise NotAllowed("the metrics are for admins, auditors and the metrics port")
    body = generate_latest()
    try:
        with deadline(DATABASE_CHECK):
            health = projection_health()
    except Exception as error:
        log.warning("projection metrics left out: %s", error)
    else:
        registry = CollectorRegistry()
        registry.register(_ProjectionMetrics(health))
        body += generate_latest(registry)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
