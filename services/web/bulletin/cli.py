"""Commands for ``flask``: create-admin, prepare-database, seed and test."""

from __future__ import annotations

import itertools
import random
import secrets
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select

from .core.markup import render_markdown
from .core.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from .extensions import db
from .jobs.cli import jobs_cli
from .models import Comment, Follow, Post, Role, Task, User, utcnow
from .models.user import DEFAULT_ROLE
from .runtime import startup
from .services import ServiceError, accounts, blog

SEED_PASSWORD = "bulletin-seed"  # noqa: S105  (demo accounts, printed by the command)
WORDS = (
    "flask stack deploy nginx gunicorn postgres query index cache latency request token "
    "browser server python template migration schema review release weekend coffee garden "
    "bicycle river mountain kitchen music book market library sunrise harbour winter summer "
    "travel notes idea draft"
).split(" ")


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(prepare_database)
    app.cli.add_command(seed)
    app.cli.add_command(prune_sessions)
    app.cli.add_command(rerender)
    app.cli.add_command(run_tests)
    app.cli.add_command(jobs_cli)


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
def create_admin(email: str, username: str, password_stdin: bool) -> None:
    """Create a confirmed Administrator account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise click.ClickException(
            f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long."
        )
    try:
        user = accounts.register_user(
            email=email,
            username=username,
            password=password,
            confirmed=True,
            role_name="Administrator",
        )
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Administrator {user.username} <{user.email}> created.")
    if current_app.config["STAFF_SECOND_FACTOR"]:
        click.echo(
            "STAFF_SECOND_FACTOR is on: at the first sign-in this account can only set up a "
            "second factor (an authenticator app or a passkey, under Security), nothing else."
        )
    else:
        click.echo(
            "Give it a second factor: sign in, then Security in your menu. STAFF_SECOND_FACTOR=1 "
            "makes one mandatory for every administrator and moderator."
        )


def _sentence(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(6, 14))
    return " ".join(words).capitalize() + "."


def _bodies(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """A pool of Markdown bodies, rendered once: rendering per row would dominate."""
    pool = []
    for _ in range(count):
        body = "\n\n".join(
            " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(1, 3))
        )
        if rng.random() < 0.3:
            body += f"\n\n**{rng.choice(WORDS)}** and *{rng.choice(WORDS)}*"
        pool.append((body, render_markdown(body)))
    return pool


def _insert_chunked(model: type, rows: Iterable[dict], chunk: int = 5000) -> None:
    """Insert rows as they are made, so a million of them never sit in memory at once."""
    rows = iter(rows)
    while batch := list(itertools.islice(rows, chunk)):
        db.session.execute(insert(model), batch)


@click.command("prepare-database")
@with_appcontext
@click.option(
    "--wait",
    "wait_seconds",
    default=60,
    show_default=True,
    type=click.IntRange(min=0),
    help="How long to wait for the database, seconds.",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Upgrade the schema to head (under a lock shared by replicas).",
)
def prepare_database(wait_seconds: int, migrate: bool) -> None:
    """Wait for the database, then apply migrations: what a container runs first."""
    try:
        startup.wait_for_database(timeout=wait_seconds)
        startup.check_connections_budget()
    except startup.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    if migrate:
        startup.upgrade_schema()


@click.command("prune-sessions")
@with_appcontext
def prune_sessions() -> None:
    """Delete signed-in sessions that have expired (the worker does it daily too)."""
    click.echo(f"Deleted {accounts.prune_login_sessions()} expired sessions.")


@click.command("rerender")
@with_appcontext
def rerender() -> None:
    """Render stored posts and comments again after the renderer changed.

    Only rows whose HTML differs are written; safe to run again or to stop.
    """
    for model in (Post, Comment):
        total = db.session.scalar(select(func.count()).select_from(model)) or 0
        label = f"{model.__tablename__:<8}"
        done = changed = 0
        with click.progressbar(length=total, label=label, show_pos=True) as bar:
            for read, changed_so_far in blog.rerender(model):
                bar.update(read - done)
                done, changed = read, changed_so_far
        click.echo(f"{model.__tablename__}: {changed} of {total} rendered anew.")


@click.command("seed")
@with_appcontext
@click.option("--users", default=50, show_default=True, type=click.IntRange(min=0))
@click.option("--posts", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--tasks", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--random-seed", default=42, show_default=True, help="For repeatable data.")
@click.option(
    "--password",
    help=f"The seeded accounts' password (default {SEED_PASSWORD!r}; random in production).",
)
@click.option("--force", is_flag=True, help="Seed a production database all the same.")
def seed(
    users: int, posts: int, tasks: int, random_seed: int, password: str | None, force: bool
) -> None:
    """Add demo users (confirmed), posts, follows and tasks in bulk."""
    production = current_app.config["ENV_NAME"] == "production"
    if production and not force:
        raise click.ClickException(
            "this is a production app: seeding adds confirmed accounts that anyone who "
            "knows the demo password could sign in to. Add --force if you mean it; the "
            "accounts then get a random password, printed once."
        )
    if password is None:
        password = secrets.token_urlsafe(12) if production else SEED_PASSWORD
    rng = random.Random(random_seed)
    started = time.perf_counter()
    role_id = db.session.scalar(select(Role.id).where(Role.name == DEFAULT_ROLE))
    if role_id is None:
        raise click.ClickException("The roles are missing: run `flask db upgrade` first.")
    first = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    password_hash = hash_password(password)  # one hash: argon2 is slow on purpose
    now = utcnow()
    _insert_chunked(
        User,
        [
            {
                "public_id": uuid.uuid4(),
                "email": f"user{n}@example.com",
                "username": f"user{n}",
                "password_hash": password_hash,
                "confirmed": True,
                "role_id": role_id,
                "name": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}",
                "member_since": now - timedelta(days=rng.randint(30, 700)),
                "last_seen": now,
                "token_version": 0,
                "location": rng.choice(WORDS).title(),
            }
            for n in range(first, first + users)
        ],
    )
    user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    if not user_ids and (posts or tasks):
        raise click.ClickException("There are no users to own posts or tasks: add --users.")
    new_ids = user_ids[-users:] if users else []
    follows = {
        (a, b) for a in new_ids for b in rng.sample(user_ids, min(10, len(user_ids))) if a != b
    }
    _insert_chunked(
        Follow, [{"follower_id": a, "followed_id": b, "timestamp": now} for a, b in sorted(follows)]
    )
    pool = _bodies(rng, 200)

    def post_row() -> dict:
        body, html = rng.choice(pool)
        return {
            "body": body,
            "body_html": html,
            "author_id": rng.choice(user_ids),
            "timestamp": now - timedelta(seconds=rng.randint(0, 365 * 86400)),
        }

    _insert_chunked(Post, (post_row() for _ in range(posts)))
    _insert_chunked(
        Task,
        (
            {
                "owner_id": rng.choice(user_ids),
                "title": _sentence(rng)[:200],
                "description": _sentence(rng),
                "done": rng.random() < 0.4,
                "created_at": now,
                "updated_at": now,
            }
            for _ in range(tasks)
        ),
    )
    db.session.commit()
    click.echo(
        f"Seeded {users} users, {len(follows)} follows, {posts} posts and {tasks} tasks "
        f"in {time.perf_counter() - started:.1f} s."
    )
    if users:
        click.echo(
            f"Seeded users sign in as user{first}@example.com to "
            f"user{first + users - 1}@example.com with password {password!r}."
        )


@click.command("test", context_settings={"ignore_unknown_options": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def run_tests(pytest_args: tuple[str, ...]) -> None:
    """Run the test suite (arguments go to pytest)."""
    try:
        import pytest
    except ImportError:
        raise click.ClickException(
            "pytest is not installed: run `make test`, or "
            "`pip install -r requirements-dev.txt` first."
        ) from None
    tests = Path(current_app.root_path).parents[2] / "tests"
    if not tests.is_dir():
        raise click.ClickException(f"No test suite at {tests}: run this from a source checkout.")
    sys.exit(pytest.main([str(tests), *pytest_args]))
