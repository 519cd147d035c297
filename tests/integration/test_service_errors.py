"""A rule broken in a service becomes one response, decided in one place
(bulletin/errors.py): its own status as JSON for the API, the message flashed
on the page the browser came from."""

from __future__ import annotations

import pytest
from flask import Flask

from bulletin import create_app
from bulletin.services import Conflict, Forbidden, ServiceError, TooManyAttempts

RAISED = {
    "rule": ServiceError("You cannot follow yourself.", field="username"),
    "forbidden": Forbidden("Only the author may edit this post."),
    "conflict": Conflict("This username is already taken.", field="username"),
    "limit": TooManyAttempts("Too many failed sign-ins.", retry_after=120),
}


@pytest.fixture
def raising_app() -> Flask:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": False})

    def raiser(kind: str):
        raise RAISED[kind]

    app.add_url_rule("/api/v1/raise/<kind>", "api_raise", raiser, methods=["GET", "POST"])
    app.add_url_rule("/raise/<kind>", "page_raise", raiser, methods=["GET", "POST"])
    return app


@pytest.mark.parametrize(
    ("kind", "status"), [("rule", 422), ("forbidden", 403), ("conflict", 409), ("limit", 429)]
)
def test_the_api_answers_each_with_its_status_and_the_one_error_shape(raising_app, kind, status):
    response = raising_app.test_client().post(f"/api/v1/raise/{kind}")
    assert response.status_code == status
    assert response.json["message"] == RAISED[kind].message
    assert set(response.json) == {"error", "message", "details"}
    if kind == "conflict":
        assert response.json["details"] == {"field": "username"}
    if kind == "limit":
        assert response.headers["Retry-After"] == "120"


def test_a_page_goes_back_where_it_came_from_with_the_message(raising_app):
    client = raising_app.test_client()
    response = client.post("/raise/conflict", headers={"Referer": "http://localhost/user/x?page=2"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/user/x?page=2"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("danger", "This username is already taken.")]


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "https://evil.example/",
        "http://localhost//evil.example/",
        "http://localhost/raise/rule",
    ],
)
def test_a_page_from_elsewhere_goes_home(raising_app, referrer):
    headers = {"Referer": referrer} if referrer else {}
    response = raising_app.test_client().get("/raise/rule", headers=headers)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_a_form_goes_back_to_itself(raising_app):
    referrer = {"Referer": "http://localhost/raise/rule"}
    response = raising_app.test_client().post("/raise/rule", headers=referrer)
    assert response.status_code == 303
    assert response.headers["Location"] == "/raise/rule"


def test_a_limit_on_a_page_is_429_with_retry_after(raising_app):
    response = raising_app.test_client().post("/raise/limit")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "120"
