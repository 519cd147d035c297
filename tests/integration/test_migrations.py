"""Migrations build the schema on an empty database and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from bulletin.extensions import db
from bulletin.models import ROLE_PERMISSIONS, Role
from bulletin.models.blog import compared_with_models

# SQLite cannot reflect the index on lower(username); PostgreSQL compares it.
SQLITE_EXPRESSION_INDEX = (
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"
)
SQLITE_REFLECTION = "ignore:Skipped unsupported reflection of expression-based index"


@pytest.mark.filterwarnings(SQLITE_EXPRESSION_INDEX, SQLITE_REFLECTION)
def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as connection:
        options = {"compare_type": True, "include_object": compared_with_models}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, db.metadata) == []


@pytest.mark.filterwarnings(SQLITE_EXPRESSION_INDEX, SQLITE_REFLECTION)
def test_flask_db_check_passes(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_roles_are_inserted_with_their_permissions(app):
    with app.app_context():
        roles = {role.name: role for role in db.session.scalars(select(Role))}
    assert {name: role.permissions for name, role in roles.items()} == {
        name: int(permissions) for name, permissions in ROLE_PERMISSIONS.items()
    }
    assert [name for name, role in roles.items() if role.default] == ["User"]


def test_downgrade_to_empty_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "posts" in inspect(db.engine).get_table_names()
        assert db.session.scalar(select(db.func.count()).select_from(Role)) == 3


def test_every_query_the_pages_run_has_an_index(app):
    with app.app_context():
        inspector = inspect(db.engine)
        indexed = {
            table: {tuple(index["column_names"]) for index in inspector.get_indexes(table)}
            for table in ("posts", "comments", "follows", "tasks", "login_sessions")
        }
    # Each feed's keys (time, then id), after what the list is about.
    assert ("author_id", "timestamp", "id") in indexed["posts"]  # profile and followed feed
    assert ("timestamp", "id") in indexed["posts"]  # home feed
    assert ("post_id", "timestamp", "id") in indexed["comments"]  # a post's comments
    assert ("timestamp", "id") in indexed["comments"]  # moderation
    assert ("followed_id", "follower_id") in indexed["follows"]  # followers of a user
    assert ("owner_id", "id") in indexed["tasks"]  # a user's tasks
    assert ("user_id",) in indexed["login_sessions"]
