"""The web console (CONTRACT.md §5): a second adapter beside the HTTP API.

It holds no business rule: the browser loads plain ES modules from ``static/`` and talks to
``/api/v1`` with the bearer token like any other client. This module only serves them: the
addresses a person can open directly (each answers the same page, the modules route), the
assets, and the interactive API docs' assets from the pinned ``swagger-ui-bundle`` wheel, so
that nothing is fetched from another origin.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).parent / "static"
# The console's own pages: nothing but this origin, no inline script or style.
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI's page (flask-smorest's template) starts it with an inline script.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_ASSETS = "/api/v1/docs/assets/"
PAGES = (
    "/", "/tickets/<path:ticket_id>", "/handler", "/admin/handlers", "/settings/notifications",
    "/admin/canned-replies", "/admin/reports",
)  # fmt: skip

blp = Blueprint("console", __name__, static_folder=STATIC, static_url_path="/console")


def _page(ticket_id: str | None = None) -> Response:
    """Every address of the console answers the same document; its modules route."""
    del ticket_id
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


for number, rule in enumerate(PAGES):
    blp.add_url_rule(rule, f"page_{number}", _page, methods=["GET"])


@blp.route(f"{DOCS_ASSETS}<path:filename>", methods=["GET"])
def docs_asset(filename: str) -> Response:
    """Swagger UI's scripts and styles, from the pinned wheel."""
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


def register(app: Flask) -> None:
    """Serve the console and the docs' assets; mark every page with its content policy."""
    app.config["OPENAPI_SWAGGER_UI_URL"] = DOCS_ASSETS
    # Swagger UI would ask validator.swagger.io about the document: not from here.
    app.config["OPENAPI_SWAGGER_UI_CONFIG"] = {"validatorUrl": None}
    app.register_blueprint(blp)

    @app.after_request
    def content_policy(response: Response) -> Response:
        if request.blueprint == "console":
            response.headers.setdefault("Content-Security-Policy", CONSOLE_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        elif request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy", DOCS_POLICY)
        return response
