"""usernames unique whatever their case: a unique index on lower(username)

Revision ID: 5c2d8e1f4a70
Revises: 3b7c1e9a5d21
Create Date: 2026-11-27 06:10:00

The app checked lower-cased names, but the unique index was case-sensitive,
so two sign-ups racing as "Alice" and "alice" could both succeed. Now the
database refuses the second. Names that already clash stop the upgrade with
the list to fix, instead of the index's own obscure error.
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "5c2d8e1f4a70"
down_revision = "3b7c1e9a5d21"
branch_labels = None
depends_on = None


def upgrade():
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, username FROM users WHERE lower(username) IN ("
            " SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1)"
            " ORDER BY lower(username), id"
        )
    )
    clashes = defaultdict(list)
    for user_id, username in rows:
        clashes[username.lower()].append(f"{username} (id {user_id})")
    if clashes:
        listed = "; ".join(", ".join(names) for names in clashes.values())
        raise RuntimeError(
            f"{len(clashes)} username(s) differ only in case: {listed}. Usernames must now be "
            "unique whatever their case. Rename all but one of each group, e.g. "
            "UPDATE users SET username = 'alice2' WHERE id = 42; then migrate again "
            "(flask db upgrade, or restart the web container). Nothing was changed."
        )
    op.create_index(
        "uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True
    )


def downgrade():
    op.drop_index("uq_users_username_lower", table_name="users")
