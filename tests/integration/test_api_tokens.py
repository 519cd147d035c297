"""API tokens: Basic auth to get one, bearer or x-access-token to use it, revocation."""

from __future__ import annotations

import time
from types import SimpleNamespace

import jwt
import pytest

from bulletin.extensions import db
from bulletin.models import utcnow
from bulletin.services import api_tokens
from tests.support import PASSWORD, Auth, basic_auth, bearer, get_token, get_user


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.mark.parametrize("login", ["alice@example.com", "ALICE@Example.com", "alice"])
def test_token_for_email_or_username(client, alice, login):
    response = client.post("/api/v1/tokens", headers=basic_auth(login))
    assert response.status_code == 201
    assert response.json["expires_in"] == 3600
    claims = jwt.decode(response.json["token"], options={"verify_signature": False})
    assert claims["sub"] == str(alice.public_id)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic_auth("alice@example.com", "wrong password"),
        basic_auth("nobody@example.com"),
        {"Authorization": "Bearer something"},
    ],
)
def test_bad_credentials_get_401_with_basic_challenge(client, alice, headers):
    response = client.post("/api/v1/tokens", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json["error"] == "unauthorized"


def test_unconfirmed_account_gets_403(client, make_user):
    make_user("newbie", confirmed=False)
    response = client.post("/api/v1/tokens", headers=basic_auth("newbie"))
    assert response.status_code == 403
    assert "Confirm" in response.json["message"]


def test_both_header_styles_are_accepted(client, alice):
    token = get_token(client, "alice")
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/tasks", headers={"x-access-token": token}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "invalid"),
    [
        ({}, False),
        ({"Authorization": "Bearer not-a-jwt"}, True),
        ({"Authorization": "Basic abc"}, False),
        ({"x-access-token": "garbage"}, True),
    ],
)
def test_missing_or_bad_token_gets_401_bearer(client, headers, invalid):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert ("invalid_token" in challenge) is invalid


def test_expired_token_is_refused(app, client, alice):
    app.config["API_TOKEN_TTL"] = -10
    token = get_token(client, "alice")
    response = client.get("/api/v1/tasks", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json["message"]


def test_a_token_checked_before_still_expires(client, alice, monkeypatch):
    """Checked tokens are kept (services/api_tokens.py): not past their expiry."""
    token = get_token(client, "alice")
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    later = time.time() + 3600
    monkeypatch.setattr(api_tokens, "time", SimpleNamespace(time=lambda: later))
    response = client.get("/api/v1/tasks", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json["message"]


def test_a_token_checked_before_is_refused_under_a_new_key(app, client, alice):
    """A new SECRET_KEY refuses every earlier token, kept ones too."""
    token = get_token(client, "alice")
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    app.config["SECRET_KEY"] = "another-testing-key"
    response = client.get("/api/v1/tasks", headers=bearer(token))
    assert response.status_code == 401
    assert "not valid" in response.json["message"]


def test_token_signed_with_another_key_is_refused(client, alice):
    forged = jwt.encode(
        {
            "sub": str(alice.public_id),
            "ver": 0,
            "aud": "bulletin-api",
            "exp": utcnow().timestamp() + 600,
        },
        "another-key-" * 4,
        algorithm="HS256",
    )
    assert client.get("/api/v1/tasks", headers=bearer(forged)).status_code == 401


def test_unsigned_token_is_refused(client, alice):
    unsigned = jwt.encode(
        {
            "sub": str(alice.public_id),
            "ver": 0,
            "aud": "bulletin-api",
            "exp": utcnow().timestamp() + 600,
        },
        None,
        algorithm="none",
    )
    assert client.get("/api/v1/tasks", headers=bearer(unsigned)).status_code == 401


def test_delete_tokens_revokes_every_earlier_token(client, alice):
    first, second = get_token(client, "alice"), get_token(client, "alice")
    assert client.delete("/api/v1/tokens", headers=bearer(first)).status_code == 204
    for token in (first, second):
        response = client.get("/api/v1/tasks", headers=bearer(token))
        assert response.status_code == 401
        assert "revoked" in response.json["message"]
    assert (
        client.get("/api/v1/tasks", headers=bearer(get_token(client, "alice"))).status_code == 200
    )


def test_password_change_revokes_tokens(app, client, alice):
    token = get_token(client, "alice")
    browser = Auth(app.test_client())
    browser.login("alice@example.com")
    browser.post_form(
        "/auth/change-password",
        {"old_password": PASSWORD, "password": "new password 42", "password2": "new password 42"},
    )
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_token_of_a_later_unconfirmed_account_gets_403(app, client, alice):
    token = get_token(client, "alice")
    with app.app_context():
        user = db.session.merge(get_user(app, "alice"))
        user.confirmed = False
        db.session.commit()
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 403


def test_a_revoked_or_unconfirmed_token_creates_no_task(app, client, alice):
    # Creation checks the caller in its INSERT (services/tasks.py: create_own_task).
    revoked = get_token(client, "alice")
    assert client.delete("/api/v1/tokens", headers=bearer(revoked)).status_code == 204
    refused = client.post("/api/v1/tasks", json={"title": "x"}, headers=bearer(revoked))
    assert refused.status_code == 401
    assert "revoked" in refused.json["message"]
    token = get_token(client, "alice")
    with app.app_context():
        user = db.session.merge(get_user(app, "alice"))
        user.confirmed = False
        db.session.commit()
    unconfirmed = client.post("/api/v1/tasks", json={"title": "x"}, headers=bearer(token))
    assert unconfirmed.status_code == 403
    with app.app_context():
        user = db.session.merge(get_user(app, "alice"))
        user.confirmed = True
        db.session.commit()
    assert client.get("/api/v1/tasks", headers=bearer(token)).json["items"] == []
