"""Fixtures shared by every suite: the app on each database, a client, mail, users.

The suite runs on SQLite always and on PostgreSQL when TEST_DATABASE_URL is
set. Under CI=true a skipped test counts as failed: CI must run everything.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text
from werkzeug.serving import make_server

from bulletin import create_app
from bulletin.extensions import db, limiter, mail
from bulletin.models import Role, User
from bulletin.services import accounts
from tests.support import PASSWORD, Auth

IN_CI = os.environ.get("CI", "").lower() == "true"
# Rows that migrations insert and tests keep.
KEPT_TABLES = {"roles", "alembic_version"}


def pytest_collection_modifyitems(items):
    """Mark every test that drives Chromium: tests/run keeps them apart from
    the Docker suites (tests/browser/chromium.py, HOST_NETWORK_CHANGED)."""
    for item in items:
        if {"browser", "start_browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every component must be present: {reason}"


def reset_database(url: str) -> None:
    """Drop everything, so migrations start from an empty database.

    On PostgreSQL, everything the tests' user made: the job queue's
    functions and types (procrastinate's schema) are not tables.
    """
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP OWNED BY CURRENT_USER CASCADE"))
    else:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """An empty database of each kind, migrated to the head revision."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'bulletin.sqlite'}"
    else:
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url:
            pytest.skip(
                "PostgreSQL not configured: set TEST_DATABASE_URL to a database "
                "the tests may wipe (see .ci/run)"
            )
    reset_database(url)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class SharedApp:
    """One app per database for the whole session, rebuilt only after a test
    changed it.

    Building an app costs about 0.3 s (more than half of it flask-smorest's
    OpenAPI document), more than most tests. A test that changes the app (its
    config, its WSGI middleware, its hooks) leaves it behind: the next test
    gets a new one, so no test sees another's changes, and so does one that
    built an app of its own.
    """

    def __init__(self) -> None:
        self.url: str | None = None
        self.app: Flask | None = None
        self.before: tuple | None = None
        self.binding: tuple | None = None

    @staticmethod
    def state(app: Flask) -> tuple:
        return (
            copy.deepcopy(dict(app.config)),
            app.wsgi_app,
            {key: list(funcs) for key, funcs in app.before_request_funcs.items()},
            {key: list(funcs) for key, funcs in app.after_request_funcs.items()},
            sorted(str(rule) for rule in app.url_map.iter_rules()),
        )

    @staticmethod
    def limiter_binding() -> tuple:
        """What Flask-Limiter keeps of the last app bound to it: its on/off
        switch and its storage. A test that built an app of its own changed
        them, and the shared one is built again."""
        return limiter.enabled, limiter._storage

    def get(self, url: str) -> Flask:
        if self.app is None or self.url != url or self.limiter_binding() != self.binding:
            self.drop()
            self.app, self.url = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url}), url
            self.binding = self.limiter_binding()
        self.before = self.state(self.app)
        return self.app

    def release(self) -> None:
        """Empty the tables, and forget the app if the test changed it."""
        assert self.app is not None
        with self.app.app_context():
            empty_tables()
        if self.state(self.app) != self.before:
            self.drop()

    def drop(self) -> None:
        if self.app is not None:
            with self.app.app_context():
                db.engine.dispose()
        self.app = self.url = None


SHARED = SharedApp()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app on each database, emptied after the test (see SharedApp).

    No app context stays pushed: each request gets its own, as in production,
    so nothing (``g``, the ORM session) leaks from one request to the next.
    """
    yield SHARED.get(database_url)
    SHARED.release()


@pytest.fixture
def fresh_app(database_url: str) -> Iterator[Flask]:
    """An app of its own, for a test that adds routes: Flask allows that only
    before an app's first request, which the shared one is long past."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def outbox(app: Flask):
    with mail.record_messages() as messages:
        yield messages


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def make_user(app: Flask):
    """Create a user straight through the service, confirmed unless asked otherwise."""

    def make(
        username: str = "alice",
        *,
        email: str | None = None,
        confirmed: bool = True,
        role: str = "User",
        password: str = PASSWORD,
    ) -> User:
        # A request context, as in the app: the confirmation mail links back to it.
        with app.test_request_context():
            user = accounts.register_user(
                email=email or f"{username}@example.com",
                username=username,
                password=password,
                confirmed=confirmed,
                role_name=role,
            )
            db.session.refresh(user)  # loaded, so it stays readable once detached
            return user

    return make


@pytest.fixture
def roles(app: Flask) -> dict[str, Role]:
    with app.app_context():
        return {role.name: role for role in db.session.scalars(db.select(Role))}


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on a real HTTP server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Links in mail name the public host: here, this server.
    app.config["PUBLIC_HOST"] = f"127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
