"""login sessions expire: last_seen_at and remember, for idle and absolute timeouts

Revision ID: 3b7c1e9a5d21
Revises: dee093405fba
Create Date: 2026-11-27 03:10:00

Columns only added, with defaults, so the previous release keeps working
while this one rolls out. Existing sessions count as seen when created and
remembered, so nobody is signed out by the upgrade itself (the 14-day
lifetime still ends the old ones).
"""

import sqlalchemy as sa
from alembic import op

revision = "3b7c1e9a5d21"
down_revision = "dee093405fba"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_seen_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.add_column(
            sa.Column("remember", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index(batch_op.f("ix_login_sessions_created_at"), ["created_at"])
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    # New rows get their values from the app; the defaults served the old rows.
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.alter_column("last_seen_at", server_default=None)
        batch_op.alter_column("remember", server_default=None)


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_created_at"))
        batch_op.drop_column("remember")
        batch_op.drop_column("last_seen_at")
