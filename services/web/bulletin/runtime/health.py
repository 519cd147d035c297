"""Liveness and readiness probes for Docker, load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .revisions import current_revisions, head_revisions

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer while the process serves requests; never touches the database.

    The release says which image answered, so an operator (or a test) watching
    a rolling update sees old and new side by side.
    """
    return jsonify(status="ok", release=current_app.config["RELEASE"])


@bp.get("/readyz")
def readyz():
    """Answer 200 only when the database answers and its schema is at the head."""
    expected = head_revisions()
    try:
        with db.engine.connect() as connection:
            current = current_revisions(connection)
    except SQLAlchemyError as error:
        reason = f"database unreachable: {type(error).__name__}"
        return jsonify(status="unavailable", reason=reason), 503
    if current != expected:
        reason = (
            f"schema at {sorted(current) or 'no revision'}, "
            f"expected {sorted(expected)}: run `flask db upgrade`"
        )
        return jsonify(status="unavailable", reason=reason), 503
    return jsonify(status="ok", revision=sorted(current))
