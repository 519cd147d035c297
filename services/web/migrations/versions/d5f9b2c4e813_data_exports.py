"""data exports: a person's zip, kept until its one download or its expiry

Revision ID: d5f9b2c4e813
Revises: c4e8a1f3b702
Create Date: 2026-12-02 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d5f9b2c4e813"
down_revision = "c4e8a1f3b702"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"],
            name=op.f("fk_data_exports_owner_id_users"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"],
            name=op.f("fk_data_exports_requester_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
    )
    with op.batch_alter_table("data_exports") as batch_op:
        batch_op.create_index(batch_op.f("ix_data_exports_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_data_exports_owner_id"), ["owner_id"])
        batch_op.create_index(batch_op.f("ix_data_exports_requester_id"), ["requester_id"])


def downgrade():
    op.drop_table("data_exports")
