"""The JSON API under /api/v1/ (tasks also under the legacy /todo/api/v1.0/)."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Flask, request
from swagger_ui_bundle import swagger_ui_path

from ..errors import api_error
from . import posts, tasks, tokens, users  # noqa: F401  (routes attach themselves to bp)
from .blueprint import bp
from .tasks import legacy_bp

__all__ = ["bp", "docs_assets_bp", "init_json_bodies", "legacy_bp"]

# Swagger UI's files, served from the swagger-ui-bundle package: no CDN.
docs_assets_bp = FlaskBlueprint(
    "api_docs_assets",
    __name__,
    static_folder=str(swagger_ui_path),
    static_url_path="/api/v1/docs/assets",
)
BODY_METHODS = {"POST", "PUT", "PATCH"}
NO_BODY_ENDPOINTS = {"api.create_token"}


def require_json_body() -> None:
    """Refuse bodies that are not JSON, before anyone tries to parse them."""
    if (
        request.method in BODY_METHODS
        and request.endpoint not in NO_BODY_ENDPOINTS
        and not request.is_json
    ):
        raise api_error(415, "Send the body as JSON, with 'Content-Type: application/json'.")


def init_json_bodies(app: Flask) -> None:
    """Run require_json_body before every view of the API's blueprints in ``app``.

    Registered on the app, keyed by blueprint as Flask keeps a blueprint's own
    hooks: a blueprint itself cannot change once an app has registered it.
    """
    for name in (bp.name, legacy_bp.name):
        app.before_request_funcs.setdefault(name, []).append(require_json_body)
