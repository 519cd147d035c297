"""Helpers the tests share: drive forms like a browser, read links from mail."""

from __future__ import annotations

import re
import threading
import time
import uuid
from base64 import b64encode
from pathlib import Path

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from bulletin.extensions import db
from bulletin.models import User

PASSWORD = "correct horse battery"


def csrf_token_in(html: str) -> str:
    """The CSRF token of the first form in a page, whatever the order of its attributes."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from the form on ``path``, fetched with the test client."""
    return csrf_token_in(client.get(path).get_data(as_text=True))


def link_in(message) -> str:
    """The path of the first link to this site in an email's text body."""
    match = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert match, f"no link in: {message.body}"
    return match.group(1)


class Auth:
    """Drive the account pages the way a browser does."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post_form(self, path: str, data: dict, *, form_page: str | None = None, **kwargs):
        page = form_page or path
        data = {"csrf_token": csrf_token(self.client, page), **data}
        # A browser names the form's page; a broken rule sends it back there.
        headers = {"Referer": f"http://localhost{page}", **kwargs.pop("headers", {})}
        return self.client.post(path, data=data, headers=headers, **kwargs)

    def login(
        self,
        email: str,
        password: str = PASSWORD,
        *,
        remember: bool = False,
        next_path: str | None = None,
    ):
        path = "/auth/login" + (f"?next={next_path}" if next_path else "")
        data = {"email": email, "password": password}
        if remember:
            data["remember_me"] = "y"
        return self.post_form(path, data, form_page="/auth/login")

    def logout(self):
        return self.post_form("/auth/logout", {}, form_page="/")

    def register(self, email: str, username: str, password: str = PASSWORD):
        return self.post_form(
            "/auth/register",
            {"email": email, "username": username, "password": password, "password2": password},
        )


def get_user(app: Flask, username: str) -> User | None:
    """The user as stored now, read in a context of its own."""
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count()).select_from(model))


def basic_auth(login: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"{login}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_token(client: FlaskClient, login: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/tokens", headers=basic_auth(login, password))
    assert response.status_code == 201, response.json
    return response.json["token"]


def insert_posts(author_id: int, count: int, *, body: str, age: str) -> None:
    """``count`` posts in one INSERT (PostgreSQL, inside an app context), then
    ANALYZE, so plans are those of a table that size. ``body`` and ``age`` are
    SQL expressions of ``g``, the post's number from 1."""
    # body and age are the tests' own SQL, never input.
    insert = (
        "INSERT INTO posts (body, body_html, timestamp, author_id)"  # noqa: S608
        f" SELECT {body}, '', now() - {age}, :author FROM generate_series(1, :count) AS g"
    )
    db.session.execute(
        text(insert),
        {"author": author_id, "count": count},
    )
    db.session.execute(text("ANALYZE posts"))


class SignUps:
    """Accounts registered through the site's form, one after another on a
    thread, until the block ends: each asks for a confirmation mail.

    ``registered`` holds the addresses the site accepted (302), ``failures``
    what it answered otherwise.
    """

    def __init__(self, base_url: str, ca_file: Path) -> None:
        self.base_url = base_url
        self.ca_file = ca_file
        self.registered: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca_file)
        url = self.base_url + "/auth/register"
        while not self._stop.is_set():
            name = "s" + uuid.uuid4().hex[:12]
            email = f"{name}@example.com"
            form = {"email": email, "username": name, "password": PASSWORD, "password2": PASSWORD}
            try:
                token = csrf_token_in(session.get(url, timeout=60).text)
                answer = session.post(
                    url,
                    data={"csrf_token": token, **form},
                    headers={"Referer": url},
                    allow_redirects=False,
                    timeout=60,
                )
            except (requests.RequestException, AssertionError) as error:
                self.failures.append(f"{email}: {type(error).__name__}: {error}"[:200])
                continue
            if answer.status_code == 302:
                self.registered.append(email)
            else:
                self.failures.append(f"{email}: {answer.status_code}")

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Block until ``count`` more accounts have been registered."""
        target = len(self.registered) + count
        deadline = time.monotonic() + timeout
        while len(self.registered) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.registered)} sign-ups, failures: {self.failures}")
            time.sleep(0.1)

    def __enter__(self) -> SignUps:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=90)
