"""The flask commands: create-admin, seed and test."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.models import Follow, Post, Task, User
from tests.support import PASSWORD, get_user


def test_create_admin_reads_the_password_from_stdin(app, runner, auth):
    result = runner.invoke(
        args=["create-admin", "Root@Example.com", "root", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    user = get_user(app, "root")
    assert user.confirmed
    assert user.role.name == "Administrator"
    assert user.email == "root@example.com"
    assert PASSWORD not in result.output
    assert auth.login("root@example.com").headers["Location"] == "/"


def test_create_admin_prompts_twice_for_the_password(app, runner):
    result = runner.invoke(
        args=["create-admin", "a@example.com", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert get_user(app, "admin").is_administrator


def test_create_admin_refuses_a_short_password(app, runner):
    result = runner.invoke(
        args=["create-admin", "a@example.com", "admin", "--password-stdin"], input="short\n"
    )
    assert result.exit_code != 0
    assert "8 to 128 characters" in result.output
    assert get_user(app, "admin") is None


def test_create_admin_refuses_a_taken_email(app, runner, make_user):
    make_user("first", email="same@example.com")
    result = runner.invoke(
        args=["create-admin", "SAME@example.com", "second", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code != 0
    assert "already registered" in result.output


def test_seed_adds_the_requested_rows(app, runner):
    result = runner.invoke(args=["seed", "--users", "20", "--posts", "300", "--tasks", "50"])
    assert result.exit_code == 0, result.output
    with app.app_context():

        def total(model):
            return db.session.scalar(select(func.count()).select_from(model))

        assert (total(User), total(Post), total(Task)) == (20, 300, 50)
        assert total(Follow) > 0
    # Seeded data serves the pages.
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/user/user1").status_code == 200


def test_seed_twice_adds_more_users_without_clashing(app, runner):
    first = runner.invoke(args=["seed", "--users", "3", "--posts", "0", "--tasks", "0"])
    assert first.exit_code == 0, first.output
    result = runner.invoke(args=["seed", "--users", "3", "--posts", "1", "--tasks", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 6


def test_seed_refuses_production_unless_forced_then_prints_a_random_password(app, runner, auth):
    app.config["ENV_NAME"] = "production"
    refused = runner.invoke(args=["seed", "--users", "2", "--posts", "0", "--tasks", "0"])
    assert refused.exit_code != 0
    assert "--force" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    forced = runner.invoke(args=["seed", "--users", "2", "--posts", "0", "--tasks", "0", "--force"])
    assert forced.exit_code == 0, forced.output
    password = re.search(r"with password '([^']+)'", forced.output).group(1)
    assert password != "bulletin-seed"
    assert len(password) >= 16
    app.config["ENV_NAME"] = "testing"
    assert auth.login("user1@example.com", "bulletin-seed").status_code == 200  # refused
    assert auth.login("user1@example.com", password).status_code == 302


def test_seed_posts_without_users_says_what_to_do(runner):
    result = runner.invoke(args=["seed", "--users", "0", "--posts", "5"])
    assert result.exit_code != 0
    assert "add --users" in result.output


def test_seed_rejects_negative_counts(runner):
    result = runner.invoke(args=["seed", "--users", "-1"])
    assert result.exit_code == 2
    assert "--users" in result.output


def test_test_command_is_registered(runner):
    result = runner.invoke(args=["test", "--help"])
    assert result.exit_code == 0
    assert "Run the test suite" in result.output
