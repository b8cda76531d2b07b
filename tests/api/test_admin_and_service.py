"""Handler administration, service endpoints and the OpenAPI document."""

from __future__ import annotations

import dataclasses
from typing import Any, cast
from uuid import uuid4

from eventsourcing.postgres import PostgresFactory
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from api.app import create_app
from application.bootstrap import build_app
from application.config import Settings
from application.tickets import TicketingApp
from application.tokens import issue_token
from tests.api.conftest import ADMIN_ID, SECRET, Auth, auditor_headers
from workers.embedded_broker import free_port


def test_handler_administration(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    admin = auth(ADMIN_ID, "admin")
    olga = f"olga-{uuid4().hex[:6]}"
    created = client.post(
        "/api/v1/admin/handlers",
        json={"account_id": olga, "name": "Olga", "roles": ["billing"]},
        headers=admin,
    )
    assert created.status_code == 201
    assert created.get_json() == {
        "account_id": olga,
        "name": "Olga",
        "roles": ["billing"],
        "active": True,
    }
    assert (
        client.post(
            "/api/v1/admin/handlers", json={"account_id": olga, "name": "Olga"}, headers=admin
        ).status_code
        == 409
    )
    listed = client.get("/api/v1/admin/handlers", headers=auth("audrey", "auditor")).get_json()
    assert olga in [h["account_id"] for h in listed]
    assert client.get("/api/v1/admin/handlers", headers=auth("alice")).status_code == 403
    assert (
        client.post(
            "/api/v1/admin/handlers",
            json={"account_id": "x", "name": "X"},
            headers=auth("h", "handler"),
        ).status_code
        == 403
    )
    assert (
        client.patch(
            "/api/v1/admin/handlers/nobody-here", json={"active": False}, headers=admin
        ).status_code
        == 404
    )

    ticket = alices_ticket
    forward = f"/api/v1/tickets/{ticket['id']}/forward"
    forwarded = client.post(forward, json={"handler_id": olga}, headers=admin)
    assert forwarded.get_json()["assignee"] == {"account_id": olga, "name": "Olga"}
    assert (
        client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(olga, "handler")).status_code
        == 200
    )

    patched = client.patch(f"/api/v1/admin/handlers/{olga}", json={"active": False}, headers=admin)
    assert patched.get_json()["active"] is False
    refused = client.post(forward, json={"handler_id": olga}, headers=admin)
    assert refused.status_code == 422
    assert "handler_id" in refused.get_json()["errors"]


def test_service_endpoints(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    client.get("/api/v1/ticket-types")
    metrics = client.get("/metrics", headers=auditor_headers()).get_data(as_text=True)
    assert (
        'ticketing_http_requests_total{endpoint="/api/v1/ticket-types",method="GET",status="200"}'
        in metrics
    )
    assert "ticketing_http_request_duration_seconds_bucket" in metrics


def test_command_metrics_count_outcomes(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    client.post(f"/api/v1/tickets/{ticket['id']}/close", headers=auth("alice"))
    metrics = client.get("/metrics", headers=auditor_headers()).get_data(as_text=True)
    assert 'ticketing_commands_total{command="close",outcome="409"}' in metrics
    assert 'ticketing_commands_total{command="submit",outcome="ok"}' in metrics


def test_openapi_document_is_valid_and_complete(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = set(spec["paths"])
    for path in [
        "/api/v1/ticket-types",
        "/api/v1/workspaces/{workspace_id}/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/history",
        "/api/v1/tickets/{ticket_id}/messages",
        "/api/v1/tickets/{ticket_id}/revoke",
        "/api/v1/tickets/{ticket_id}/restart",
        "/api/v1/tickets/{ticket_id}/close",
        "/api/v1/tickets/{ticket_id}/rating",
        "/api/v1/tickets/{ticket_id}/accept",
        "/api/v1/tickets/{ticket_id}/forward",
        "/api/v1/tickets/{ticket_id}/complete",
        "/api/v1/admin/handlers",
        "/api/v1/admin/handlers/{account_id}",
    ]:
        assert path in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_request_id_is_echoed(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"]
        == "abc123"
    )
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32


def test_an_unreachable_broker_makes_the_service_not_ready(
    ticketing: TicketingApp, api_settings: Settings
) -> None:
    settings = dataclasses.replace(api_settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    client = create_app({"SETTINGS": settings, "TICKETING_APP": ticketing}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert (checks["database"], checks["broker"]) == ("ok", "unreachable")
    assert client.get("/healthz").status_code == 200, "the process itself is up"


def test_an_unreachable_database_is_503_not_500(database_url: str) -> None:
    settings = Settings(database_url=database_url, jwt_secret=SECRET)
    app = build_app(settings)
    try:
        client = create_app({"SETTINGS": settings, "TICKETING_APP": app}).test_client()
        cast(
            PostgresFactory, app.store.factory
        ).datastore.pool.close()  # the database is now out of reach
        headers = {"Authorization": f"Bearer {issue_token(SECRET, 'alice')}"}
        response = client.get(f"/api/v1/tickets/{uuid4()}", headers=headers)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.content_type == "application/problem+json"
        assert client.get("/readyz").status_code == 503
    finally:
        app.store.close()


def test_every_documented_error_is_problem_json(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            documented = operation["responses"]
            assert "default" in documented, (method, path)
            for status, response in documented.items():
                if status.startswith(("4", "5")) or status == "default":
                    target = responses[response["$ref"].rsplit("/", 1)[1]]
                    assert list(target["content"]) == ["application/problem+json"]
                    schema = target["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}


def test_invented_methods_do_not_grow_the_metrics(client: FlaskClient) -> None:
    for n in range(20):
        client.open("/api/v1/ticket-types", method=f"BREW{n}")
    metrics = client.get("/metrics", headers=auditor_headers()).get_data(as_text=True)
    assert "BREW" not in metrics
    assert 'method="OTHER"' in metrics


def test_staff_see_the_active_handlers_they_can_forward_to(client: FlaskClient, auth: Auth) -> None:
    admin = auth(ADMIN_ID, "admin")
    active, resting = f"fw-{uuid4().hex[:6]}", f"fw-{uuid4().hex[:6]}"
    for account, is_active in ((active, True), (resting, False)):
        body = {"account_id": account, "name": account.title(), "active": is_active}
        assert client.post("/api/v1/admin/handlers", json=body, headers=admin).status_code == 201
    for role in ("handler", "admin", "auditor"):
        answer = client.get("/api/v1/handlers", headers=auth(f"{role}-x", role))
        assert answer.status_code == 200
        names = {item["account_id"]: item["name"] for item in answer.get_json()["items"]}
        assert names[active] == active.title()
        assert resting not in names
    assert client.get("/api/v1/handlers", headers=auth("a-user")).status_code == 403
