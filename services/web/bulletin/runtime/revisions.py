"""Where the schema is, and where the migrations say it should be.

The readiness probe (``health``) and the start-up migration (``startup``)
both compare the two.
"""

from __future__ import annotations

from functools import cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection


@cache
def _heads_in(migrations_dir: str) -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def head_revisions() -> frozenset[str]:
    """The newest revisions in the app's migrations folder (read once per folder)."""
    return _heads_in(current_app.extensions["migrate"].directory)


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the database says it is at; empty before the first migration."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())
