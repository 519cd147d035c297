"""Liveness and readiness probes for Docker, load balancers and orchestrators."""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask_migrate import Config as AlembicConfig
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer while the process serves requests; never touches the database."""
    return jsonify(status="ok")


@cache
def head_revisions(migrations_dir: str) -> frozenset[str]:
    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


@bp.get("/readyz")
def readyz():
    """Answer 200 only when the database answers and its schema is at the head."""
    expected = head_revisions(current_app.extensions["migrate"].directory)
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
