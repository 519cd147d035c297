"""feeds paged by (time, id): indexes that end in id

Revision ID: 9e4f6a2b8c15
Revises: 7a4c2b9e1d63
Create Date: 2026-11-27 08:00:00

Pages now start after the (timestamp, id) of the last row shown. An index on
exactly those columns (after the author or post a list is about) finds the
start at once and reads the page in order, at any depth. Each replaces an
index that lacked the id; building them holds writes to posts and comments
for a few seconds at a million rows, reads go on.
"""

from alembic import op

revision = "9e4f6a2b8c15"
down_revision = "7a4c2b9e1d63"
branch_labels = None
depends_on = None

# (table, old index, its columns, new index, its columns)
CHANGES = [
    ("posts", "ix_posts_timestamp", ["timestamp"], "ix_posts_timestamp_id", ["timestamp", "id"]),
    (
        "posts",
        "ix_posts_author_id_timestamp",
        ["author_id", "timestamp"],
        "ix_posts_author_id_timestamp_id",
        ["author_id", "timestamp", "id"],
    ),
    (
        "comments",
        "ix_comments_timestamp",
        ["timestamp"],
        "ix_comments_timestamp_id",
        ["timestamp", "id"],
    ),
    (
        "comments",
        "ix_comments_post_id_timestamp",
        ["post_id", "timestamp"],
        "ix_comments_post_id_timestamp_id",
        ["post_id", "timestamp", "id"],
    ),
]


def upgrade():
    for table, old, _old_columns, new, new_columns in CHANGES:
        op.create_index(new, table, new_columns)
        op.drop_index(old, table_name=table)


def downgrade():
    for table, old, old_columns, new, _new_columns in CHANGES:
        op.create_index(old, table, old_columns)
        op.drop_index(new, table_name=table)
