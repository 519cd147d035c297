"""What a container does before it serves: wait for the database, then migrate.

Replicas may start together (`docker compose up --scale web=3`): the first
takes a PostgreSQL advisory lock and upgrades, the others wait on the lock,
find the schema at head and go on. SQLite has a single writer and no lock.
"""

from __future__ import annotations

import time

import flask_migrate
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ..extensions import db
from .connection_budget import Budget
from .revisions import current_revisions, head_revisions

# Any constant shared by every replica; 0x62756c6c = "bull".
MIGRATION_LOCK_ID = 0x62756C6C


class DatabaseUnavailable(Exception):
    """The database did not answer within the time allowed."""


def wait_for_database(timeout: float, interval: float = 1.0) -> None:
    """Return once the database accepts a connection; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            if time.monotonic() >= deadline:
                raise DatabaseUnavailable(
                    f"the database at {db.engine.url.render_as_string(hide_password=True)} "
                    f"did not answer in {timeout:g} s ({reason}); check DATABASE_URL and "
                    "that the database server is running"
                ) from None
            current_app.logger.info("waiting for the database: %s", reason)
            time.sleep(interval)


def check_connections_budget() -> None:
    """Warn when every replica's pools together could exceed max_connections."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as connection:
        allowed = int(connection.execute(text("SHOW max_connections")).scalar_one())
    problem = Budget.from_config(current_app.config).problem(allowed)
    if problem:
        current_app.logger.warning(problem)


def upgrade_schema() -> bool:
    """Bring the schema to head, once across replicas. True if this call migrated."""
    expected = head_revisions()
    with db.engine.connect() as connection:
        if current_revisions(connection) == expected:
            current_app.logger.info("migrations: schema already at head %s", sorted(expected))
            return False
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            current_app.logger.info("migrations: waiting for the migration lock")
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            before = current_revisions(connection)
            connection.commit()  # end the read so the upgrade's DDL is not blocked by it
            if before == expected:
                current_app.logger.info(
                    "migrations: another replica upgraded to %s", sorted(expected)
                )
                return False
            current_app.logger.info(
                "migrations: upgrading from %s to %s",
                sorted(before) or "an empty database",
                sorted(expected),
            )
            flask_migrate.upgrade()
            current_app.logger.info("migrations: upgraded to %s", sorted(expected))
            return True
        finally:
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                connection.commit()
