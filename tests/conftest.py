"""Fixtures shared by every suite: the app on each database, a client, mail, users.

The suite runs on SQLite always and on PostgreSQL when TEST_DATABASE_URL is
set. Under CI=true a skipped test counts as failed: CI must run everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text
from werkzeug.serving import make_server

from bulletin import create_app
from bulletin.extensions import db, mail
from bulletin.models import Role, User
from bulletin.services import accounts
from tests.support import PASSWORD, Auth

IN_CI = os.environ.get("CI", "").lower() == "true"
# Rows that migrations insert and tests keep.
KEPT_TABLES = {"roles", "alembic_version"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every component must be present: {reason}"


def reset_database(url: str) -> None:
    """Drop every table, so migrations start from an empty database."""
    engine = create_engine(url)
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


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app on each database, emptied after the test.

    No app context stays pushed: each request gets its own, as in production,
    so nothing (``g``, the ORM session) leaks from one request to the next.
    """
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


@pytest.fixture
def start_browser(tmp_path):
    """Start Debian's Chromium through chromedriver; ``trusted_ca`` is added to
    its certificate store (an NSS database in its home), as the README tells
    people to do on a Linux desktop. CHROME_BIN and CHROMEDRIVER name another
    Chromium build (GitHub's runners bring Google Chrome and its driver)."""
    chrome = shutil.which(os.environ.get("CHROME_BIN") or "chromium")
    chromedriver = shutil.which(os.environ.get("CHROMEDRIVER") or "chromedriver")
    if not (chrome and chromedriver):
        pytest.skip(
            "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(*, trusted_ca: Path | None = None):
        home = tmp_path / f"home{len(drivers)}"
        if trusted_ca is not None:
            if not shutil.which("certutil"):
                pytest.skip("certutil is not installed (apt-get install libnss3-tools)")
            nssdb = home / ".pki/nssdb"
            nssdb.mkdir(parents=True)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
            subprocess.run(
                [
                    "certutil",
                    "-d",
                    f"sql:{nssdb}",
                    "-A",
                    "-t",
                    "C,,",
                    "-n",
                    "Bulletin local CA",
                    "-i",
                    str(trusted_ca),
                ],
                check=True,
            )
        options = webdriver.ChromeOptions()
        options.binary_location = chrome
        # No sandbox as root; no background networking on a machine without internet.
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
            f"--user-data-dir={home / 'profile'}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(chromedriver, env={**os.environ, "HOME": str(home)})
        driver = webdriver.Chrome(service=service, options=options)
        driver.implicitly_wait(5)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


@pytest.fixture
def browser(start_browser):
    """Chromium for pages served over plain HTTP by live_server."""
    return start_browser()
