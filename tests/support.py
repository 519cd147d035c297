"""Helpers the tests share: drive forms like a browser, read links from mail."""

from __future__ import annotations

import re
from base64 import b64encode

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
