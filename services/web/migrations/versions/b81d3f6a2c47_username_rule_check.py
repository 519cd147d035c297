"""the username rule in the database: a CHECK on PostgreSQL, triggers on SQLite

Revision ID: b81d3f6a2c47
Revises: 9e4f6a2b8c15
Create Date: 2026-12-01 22:40:00

The forms' rule ended in ``$``, which also matches before a final newline,
so "admin\\n" could register and show exactly as "admin". The app now checks
the whole string (bulletin/core/usernames.py); the database refuses any name that
breaks the rule, whatever path it came by. The rule is written out here as it
stood at this revision, as migrations must not change with the app's code.

Names already stored that break it stop the upgrade with the list to fix,
as the case-clash migration does. SQLite cannot add a CHECK to a table
without rebuilding it (which would lose the lower(username) index), so there
triggers refuse such an INSERT or UPDATE instead.
"""

import sqlalchemy as sa
from alembic import op

revision = "b81d3f6a2c47"
down_revision = "9e4f6a2b8c15"
branch_labels = None
depends_on = None

# Letters, digits, dots and underscores, starting with a letter: ASCII only.
POSTGRESQL_RULE = "{column} ~ '^[A-Za-z][A-Za-z0-9_.]*$'"
SQLITE_RULE = "{column} GLOB '[A-Za-z]*' AND {column} NOT GLOB '*[^A-Za-z0-9_.]*'"
SQLITE_TRIGGER = """
CREATE TRIGGER ck_users_username_rule_{event}
BEFORE {event} ON users
FOR EACH ROW WHEN NOT ({rule})
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: ck_users_username_rule');
END
"""


def _rule(dialect: str, column: str = "username") -> str:
    return (POSTGRESQL_RULE if dialect == "postgresql" else SQLITE_RULE).format(column=column)


def upgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    broken = bind.execute(
        sa.text(f"SELECT id, username FROM users WHERE NOT ({_rule(dialect)}) ORDER BY id")
    ).all()
    if broken:
        listed = "; ".join(f"{name!r} (id {user_id})" for user_id, name in broken[:20])
        more = f" and {len(broken) - 20} more" if len(broken) > 20 else ""
        raise RuntimeError(
            f"{len(broken)} username(s) break the username rule (letters, numbers, dots or "
            f"underscores, starting with a letter): {listed}{more}. Rename each, e.g. "
            "UPDATE users SET username = 'alice2' WHERE id = 42; then migrate again "
            "(flask db upgrade, or restart the web container). Nothing was changed."
        )
    if dialect == "postgresql":
        op.create_check_constraint("ck_users_username_rule", "users", sa.text(_rule(dialect)))
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(SQLITE_TRIGGER.format(event=event, rule=_rule(dialect, "new.username")))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_users_username_rule", "users", type_="check")
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER ck_users_username_rule_{event}")
