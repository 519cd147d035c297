"""the job queue: procrastinate's schema on PostgreSQL, and the keys of mail sent

Revision ID: c4e8a1f3b702
Revises: b81d3f6a2c47
Create Date: 2026-12-02 07:30:00

procrastinate's schema comes from the installed procrastinate (pinned in
pyproject.toml), as of that version. Upgrading procrastinate needs a
migration of ours that runs the release's own migration files
(procrastinate/sql/migrations/*.sql), in order. SQLite has no queue: jobs
run inline there (JOB_QUEUE), and only the sent_mails table is made.
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager


revision = "c4e8a1f3b702"
down_revision = "b81d3f6a2c47"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sent_mails",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sent_mails")),
    )
    with op.batch_alter_table("sent_mails") as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_mails_sent_at"), ["sent_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # The driver's own cursor, no parameters: the schema's % and : are SQL.
        with op.get_bind().connection.cursor() as cursor:
            cursor.execute(SchemaManager.get_schema())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Everything procrastinate made is named procrastinate_*.
        op.execute(
            """
            DO $$
            DECLARE object record;
            BEGIN
              FOR object IN SELECT tablename FROM pg_tables
                  WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE %I CASCADE', object.tablename);
              END LOOP;
              FOR object IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION %s CASCADE', object.signature);
              END LOOP;
              FOR object IN SELECT t.typname FROM pg_type t
                  JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                  AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE %I CASCADE', object.typname);
              END LOOP;
            END $$
            """
        )
    with op.batch_alter_table("sent_mails") as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_mails_sent_at"))
    op.drop_table("sent_mails")
