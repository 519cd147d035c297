"""One username rule on every path, and in the database: "admin\\n" used to
register and show exactly as "admin"."""

from __future__ import annotations

import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bulletin.extensions import db
from bulletin.models import User
from bulletin.services import ServiceError, accounts
from tests.support import count, get_user

LOOKALIKES = ["ad\nmin", "ad min", "admin\u200b", "\u0430dmin", "1admin", "ad-min", "_x"]


@pytest.mark.parametrize("username", LOOKALIKES)
def test_registration_refuses_a_name_that_breaks_the_rule(app, auth, username):
    response = auth.register("mallory@example.com", username)
    assert response.status_code == 200
    assert b"Use letters, numbers, dots or underscores" in response.data
    assert count(app, User) == 0


def test_what_is_typed_is_trimmed(app, auth):
    auth.register("ann@example.com", "  ann\n")
    assert get_user(app, "ann") is not None


@pytest.mark.parametrize("typed", ["admin\n", "admin\r\n", " admin "])
def test_a_name_with_a_trailing_newline_is_the_same_name(app, make_user, typed):
    make_user("admin")
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        accounts.register_user(email="m@example.com", username=typed, password="x" * 12)
    assert refused.value.message == "This username is already taken."


@pytest.mark.parametrize("username", LOOKALIKES)
def test_the_service_refuses_it_for_every_caller(app, username):
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        accounts.register_user(email="m@example.com", username=username, password="x" * 12)
    assert refused.value.field == "username"


def test_create_admin_refuses_it_with_a_readable_message(app, runner):
    result = runner.invoke(
        args=["create-admin", "root@example.com", "1root", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "Use letters, numbers, dots or underscores" in result.output


def test_the_admins_edit_refuses_it(app, make_user, roles):
    make_user("ann")
    with app.app_context():
        ann = db.session.merge(get_user(app, "ann"))
        with pytest.raises(ServiceError, match="Use letters"):
            accounts.admin_update_user(
                ann,
                email=ann.email,
                username="ann\u200b",
                confirmed=True,
                role_id=ann.role_id,
                name=None,
                location=None,
                about_me=None,
            )
    assert get_user(app, "ann") is not None


@pytest.mark.parametrize("username", ["admin\n", "ad min", "1admin"])
def test_the_database_refuses_it_whatever_path_it_came_by(app, make_user, username):
    make_user("ann")
    with app.app_context():
        with pytest.raises(IntegrityError, match="ck_users_username_rule"):
            db.session.execute(
                text("UPDATE users SET username = :name WHERE username = 'ann'"),
                {"name": username},
            )
        db.session.rollback()
    assert get_user(app, "ann") is not None


def test_the_migration_lists_stored_names_that_break_it_and_changes_nothing(app, make_user, caplog):
    make_user("bob")
    with app.app_context():
        downgrade(revision="9e4f6a2b8c15")
        try:
            db.session.execute(text("UPDATE users SET username = 'bob\n' WHERE username = 'bob'"))
            db.session.commit()  # as it could have been before this release
            with pytest.raises(SystemExit):  # flask-migrate logs the error and exits 1
                upgrade()
            assert re.search(
                r"1 username\(s\) break the username rule.*'bob\\n' \(id \d+\)", caplog.text
            )
            assert "Nothing was changed" in caplog.text
            assert db.session.scalar(select(User.username)) == "bob\n"
        finally:
            db.session.execute(text("UPDATE users SET username = 'bob' WHERE username LIKE 'bob%'"))
            db.session.commit()
            upgrade()
