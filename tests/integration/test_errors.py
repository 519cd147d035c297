"""Errors: HTML pages for browsers, JSON for API paths and JSON-only clients."""

from __future__ import annotations

import pytest
from flask import abort

from tests.support import csrf_token

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def failing_app(fresh_app):
    """The app with routes that fail in the ways a bug or a limit would."""
    app = fresh_app

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("secret internal detail")

    @app.get("/limited")
    def limited():
        abort(429)

    return app


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/no-such-page", "get", 404),
        ("/auth/logout", "get", 405),
        ("/limited", "get", 429),
    ],
)
def test_browser_gets_an_html_page(failing_app, path, method, status):
    response = getattr(failing_app.test_client(), method)(path, headers=HTML)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert b"<!doctype html>" in response.data
    assert str(status).encode() in response.data


@pytest.mark.parametrize(
    ("path", "method", "status", "code"),
    [
        ("/no-such-page", "get", 404, "not_found"),
        ("/auth/logout", "get", 405, "method_not_allowed"),
        ("/limited", "get", 429, "too_many_requests"),
    ],
)
def test_json_only_client_gets_json(failing_app, path, method, status, code):
    response = getattr(failing_app.test_client(), method)(path, headers=JSON)
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.json["message"]


def test_api_paths_get_json_whatever_they_accept(failing_app):
    response = failing_app.test_client().get("/api/nothing-here", headers=HTML)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_405_keeps_the_allow_header(client):
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(("path", "headers"), [("/boom", HTML), ("/boom", JSON), ("/api/boom", {})])
def test_500_shows_no_stack_trace(failing_app, path, headers, caplog):
    response = failing_app.test_client().get(path, headers=headers)
    assert response.status_code == 500
    assert b"secret internal detail" not in response.data
    assert b"Traceback" not in response.data
    assert "secret internal detail" in caplog.text  # the operator still sees it


def test_400_missing_csrf_token(client):
    response = client.post("/auth/register", data={"email": "a@example.com"}, headers=HTML)
    assert response.status_code == 400
    assert b"CSRF token is missing" in response.data


def test_413_oversized_body(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login", data={"csrf_token": token, "email": "x" * 5000}, headers=HTML
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    response = client.post("/auth/login", data={"email": "x" * 5000}, headers=JSON)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


def test_403_page(client, auth, make_user):
    make_user("plain")
    auth.login("plain@example.com")
    response = client.get("/moderate", headers=HTML)
    assert response.status_code == 403
    assert b"permission" in response.data
