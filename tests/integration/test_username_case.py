"""Usernames are unique whatever their case, enforced by the database."""

from __future__ import annotations

import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bulletin.extensions import db
from bulletin.models import User
from bulletin.services import Conflict, accounts
from bulletin.services.accounts import registration
from tests.support import PASSWORD


def test_the_database_refuses_a_name_that_differs_only_in_case(app, make_user):
    make_user("Alice")
    with app.app_context():
        alice = db.session.scalar(db.select(User).where(User.username == "Alice"))
        twin = User(
            email="twin@example.com",
            username="aLiCe",
            password_hash=alice.password_hash,
            role=alice.role,
        )
        db.session.add(twin)
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_a_race_past_the_check_gets_the_friendly_message(app, make_user, monkeypatch):
    """Two sign-ups at once both pass the check; the database decides, and the
    loser hears what the check would have said."""
    make_user("Alice")
    monkeypatch.setattr(registration, "check_available", lambda **_: None)
    with app.app_context(), pytest.raises(Conflict) as refused:
        accounts.register_user(email="other@example.com", username="alice", password=PASSWORD)
    assert refused.value.message == "This username is already taken."
    assert refused.value.field == "username"
    assert refused.value.status == 409


def test_the_migration_names_existing_clashes_and_changes_nothing(app, make_user, caplog):
    make_user("bob")
    with app.app_context():
        downgrade(revision="3b7c1e9a5d21")
        try:
            bob = db.session.scalar(db.select(User).where(User.username == "bob"))
            db.session.add(
                User(email="bob2@example.com", username="BOB", password_hash="x", role=bob.role)
            )
            db.session.commit()  # as it could have been before this release
            with pytest.raises(SystemExit):  # flask-migrate logs the error and exits 1
                upgrade()
            assert re.search(r"differ only in case: bob \(id \d+\), BOB \(id \d+\)", caplog.text)
            assert "Rename all but one" in caplog.text
            assert db.session.scalar(text("SELECT count(*) FROM users")) == 2
        finally:
            # Fixed as the message says, it goes through (and the next test has the head).
            db.session.execute(text("UPDATE users SET username = 'bob2' WHERE username = 'BOB'"))
            db.session.commit()
            upgrade()
