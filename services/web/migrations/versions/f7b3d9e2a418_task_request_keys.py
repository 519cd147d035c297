"""task request keys: an API creation cut by a restart runs again and finds its row

Revision ID: f7b3d9e2a418
Revises: e6a1c3d5f924
Create Date: 2026-12-04 19:45:00

A new nullable column and a unique index over the rows that have one: the
previous release, which inserts without it, runs beside it. The index is
partial, so the tasks stored before it hold no entry: building it reads the
table once and sorts nothing, and task writes wait only that long.
"""

import sqlalchemy as sa
from alembic import op

revision = "f7b3d9e2a418"
down_revision = "e6a1c3d5f924"
branch_labels = None
depends_on = None


# Plain operations, not batch mode: SQLite adds and drops a column in place,
# where a batch copy of the table would reflect users' expression index.
def upgrade():
    op.add_column("tasks", sa.Column("request_key", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_tasks_request_key",
        "tasks",
        ["request_key"],
        unique=True,
        postgresql_where=sa.text("request_key IS NOT NULL"),
        sqlite_where=sa.text("request_key IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_tasks_request_key", table_name="tasks")
    op.drop_column("tasks", "request_key")
