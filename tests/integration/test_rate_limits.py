"""Rate limits: per address for sign-in and tokens, per user for API writes, shared by replicas."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest
from flask import Flask
from flask_limiter import Limiter

from bulletin import create_app
from bulletin.core.signing import make_token
from bulletin.extensions import check_limits_where_declared, db, mail
from bulletin.services import accounts, api_tokens
from bulletin.services.accounts.credentials import password_fingerprint
from tests.conftest import empty_tables
from tests.support import PASSWORD, Auth, basic_auth, bearer, csrf_token, get_token


@pytest.fixture
def limited_app(database_url):
    """The app with small limits; its rows are removed after, like the app fixture's."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "AUTH_RATE_LIMIT": "3/minute",
            "API_WRITE_RATE_LIMIT": "2/minute",
            "MAIL_RATE_LIMIT": "2/hour",
            "ACCOUNT_SIGN_IN_LIMIT": "4/hour",
            "SEARCH_RATE_LIMIT": "3/minute",
        },
    )
    yield app
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def _signed_in(app, name: str, *, confirmed: bool = True, address: str = "10.0.0.1"):
    """A test client signed in as a new user ``name``, from ``address``."""
    name = f"{name}{uuid.uuid4().hex[:6]}"  # the database outlives one parameter
    with app.test_request_context():
        accounts.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, confirmed=confirmed
        )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    Auth(client).login(f"{name}@example.com")
    return client


def test_failed_sign_ins_are_limited_per_account_from_any_address(limited_app):
    """Guessing one account's password from many addresses: the account's own count."""
    with limited_app.test_request_context():
        accounts.register_user(
            email="ida@example.com", username="ida", password=PASSWORD, confirmed=True
        )
    owner = limited_app.test_client()  # the owner's browser, signed in once before
    owner.environ_base["REMOTE_ADDR"] = "10.1.0.1"
    assert Auth(owner).login("ida@example.com").status_code == 302
    Auth(owner).logout()
    statuses = []
    for n in range(6):
        attacker = limited_app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = f"10.2.0.{n}"  # a new address each time
        statuses.append(Auth(attacker).login("ida@example.com", "wrong password").status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]
    # Now even the right password from a new browser waits...
    stranger = limited_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "10.3.0.1"
    refused = Auth(stranger).login("ida@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert b"reset your password" in refused.data
    # ...and the API too, but the owner's browser still signs in.
    token = stranger.post("/api/v1/tokens", headers=basic_auth("ida@example.com"))
    assert token.status_code == 429
    assert token.json["error"] == "too_many_requests"
    assert Auth(owner).login("ida@example.com").status_code == 302


@pytest.mark.parametrize("path", ["/auth/change-password", "/auth/change-email"])
def test_current_password_checks_are_limited_per_user_and_address(limited_app, path):
    data = {
        "old_password": "not the password",
        "password": "a new password 1",
        "password2": "a new password 1",
        "email": "new@example.com",
    }
    limited_app.config["MAIL_RATE_LIMIT"] = "100/hour"  # this test is about passwords
    client = _signed_in(limited_app, "cora")
    statuses = [Auth(client).post_form(path, data).status_code for _ in range(4)]
    assert statuses[-1] == 429
    assert 429 not in statuses[:3]
    # The same user from another address, and another user from this one, count apart.
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert Auth(client).post_form(path, data).status_code != 429
    other = _signed_in(limited_app, "dora")
    assert Auth(other).post_form(path, data).status_code != 429


def test_resend_confirmation_is_limited_per_user_and_per_address(limited_app):
    # Not the outbox fixture: it builds the default app, which would re-initialise
    # the shared limiter without limits.
    with mail.record_messages() as outbox:
        _resend_from_users_and_addresses(limited_app, outbox)


def _resend_from_users_and_addresses(limited_app, outbox):
    client = _signed_in(limited_app, "eve", confirmed=False)
    statuses = [
        Auth(client).post_form("/auth/confirm", {}, form_page="/auth/unconfirmed").status_code
        for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    sent = len(outbox)
    # Per user: another address does not reset eve's count.
    client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    again = Auth(client).post_form("/auth/confirm", {}, form_page="/auth/unconfirmed")
    assert again.status_code == 429
    # Per address: other users from eve's first address share its count.
    for name in ("fay", "gus"):
        other = _signed_in(limited_app, name, confirmed=False, address="10.0.0.3")
        Auth(other).post_form("/auth/confirm", {}, form_page="/auth/unconfirmed")
    third = _signed_in(limited_app, "hal", confirmed=False, address="10.0.0.3")
    response = Auth(third).post_form("/auth/confirm", {}, form_page="/auth/unconfirmed")
    assert response.status_code == 429
    assert len(outbox) == sent + 2 + 3  # registration mails for fay, gus, hal and two resends


def test_sign_in_attempts_are_limited_per_address(limited_app):
    client = limited_app.test_client()
    token = csrf_token(client, "/auth/login")
    data = {"csrf_token": token, "email": "x@example.com", "password": "wrong password"}
    statuses = [client.post("/auth/login", data=data).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.post("/auth/login", data=data, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/auth/login").status_code == 200  # reading the form is not limited
    other = limited_app.test_client()
    other_token = csrf_token(other, "/auth/login")
    response = other.post(
        "/auth/login",
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
        data={**data, "csrf_token": other_token},
    )
    assert response.status_code == 200  # another address has its own count


def test_token_requests_are_limited_with_retry_after(limited_app):
    client = limited_app.test_client()
    statuses = [
        client.post("/api/v1/tokens", headers=basic_auth("nobody")).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    response = client.post("/api/v1/tokens", headers=basic_auth("nobody"))
    assert response.json["error"] == "too_many_requests"
    assert int(response.headers["Retry-After"]) > 0


def test_api_writes_are_limited_per_user(limited_app):
    client = limited_app.test_client()
    with limited_app.test_request_context():
        for name in ("ann", "ben"):
            accounts.register_user(
                email=f"{name}@example.com", username=name, password="a password 1", confirmed=True
            )
    ann = bearer(get_token(client, "ann", "a password 1"))
    ben = bearer(get_token(client, "ben", "a password 1"))
    statuses = [
        client.post("/api/v1/tasks", json={"title": "t"}, headers=ann).status_code,
        client.post("/api/v1/posts", json={"body": "p"}, headers=ann).status_code,
        client.post("/api/v1/tasks", json={"title": "t"}, headers=ann).status_code,
    ]
    assert statuses == [201, 201, 429]  # one count across every write route
    refused = client.patch("/api/v1/tasks/1", json={"done": True}, headers=ann)
    assert refused.status_code == 429
    assert refused.json["error"] == "too_many_requests"
    assert "at most 2/minute" in refused.json["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/tasks", headers=ann).status_code == 200  # reads are not limited
    assert client.post("/api/v1/tasks", json={"title": "t"}, headers=ben).status_code == 201


# Replicas ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis server on a free loopback port, for this test session only."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


REPLICA = """
import json, sys
from bulletin import create_app
from bulletin.services import accounts
app = create_app("testing", json.loads(sys.argv[1]))
client = app.test_client()
codes = [client.post("/api/v1/tokens").status_code for _ in range(int(sys.argv[2]))]
print(json.dumps(codes))
"""


def _replica_requests(settings: dict, count: int) -> list[int]:
    """Requests made by another process: a replica with its own memory."""
    result = subprocess.run(
        [sys.executable, "-c", REPLICA, json.dumps(settings), str(count)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "FLASK_CONFIG": "testing"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("shared", [True, False])
def test_replicas_share_one_count_through_redis(redis_url, shared, tmp_path):
    settings = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite'}",
        "RATELIMIT_ENABLED": True,
        "AUTH_RATE_LIMIT": "3/minute",
        "RATELIMIT_STORAGE_URI": redis_url if shared else "memory://",
        "RATELIMIT_KEY_PREFIX": f"test-{time.monotonic_ns()}",
    }
    first = _replica_requests(settings, 2)
    second = _replica_requests(settings, 2)
    assert first == [401, 401]
    # With Redis the second replica sees the first one's attempts; in memory it cannot.
    assert second == ([401, 429] if shared else [401, 401])


def test_searches_are_limited_per_address_on_the_page_and_the_api(limited_app):
    client = limited_app.test_client()
    address = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    with limited_app.app_context():
        name = f"searcher{uuid.uuid4().hex[:6]}"
        user = accounts.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, confirmed=True
        )
        headers = bearer(api_tokens.issue_token(user)[0])
    answers = [
        client.get("/search?q=garden", environ_base=address).status_code,
        client.get("/api/v1/posts?q=garden", headers=headers, environ_base=address).status_code,
        client.get("/search?q=river", environ_base=address).status_code,
        client.get("/api/v1/posts?q=river", headers=headers, environ_base=address).status_code,
        client.get("/search?q=river", environ_base=address).status_code,
    ]
    assert answers == [200, 200, 200, 429, 429]
    # Lists and pages without a search are not counted.
    assert client.get("/api/v1/posts", headers=headers, environ_base=address).status_code == 200
    assert client.get("/search", environ_base=address).status_code == 200


def _wrong_from_new_addresses(app, login: str, count: int, first: int) -> list[int]:
    statuses = []
    for n in range(count):
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = f"10.4.{first}.{n}"
        statuses.append(Auth(attacker).login(login, "wrong password").status_code)
    return statuses


def test_the_per_account_limit_answers_alike_whether_the_account_exists(limited_app):
    name = f"ivy{uuid.uuid4().hex[:6]}"
    with limited_app.test_request_context():
        accounts.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, confirmed=True
        )
    real = _wrong_from_new_addresses(limited_app, f"{name}@example.com", 6, 1)
    unknown = _wrong_from_new_addresses(limited_app, f"no{name}@example.com", 6, 2)
    assert real == unknown == [200, 200, 200, 200, 429, 429]
    pages = []
    for login, third in ((f"{name}@example.com", 3), (f"no{name}@example.com", 4)):
        client = limited_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.4.{third}.1"
        page = Auth(client).login(login, "wrong password").get_data(as_text=True)
        token = client.post("/api/v1/tokens", headers=basic_auth(login, "wrong password"))
        pages.append((page.replace(login, "LOGIN"), token.status_code, token.json["message"]))
    assert pages[0] == pages[1]
    assert pages[0][1] == 429


def test_a_device_cookie_stops_exempting_once_the_password_changes(limited_app):
    name = f"jan{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    with limited_app.test_request_context():
        accounts.register_user(email=email, username=name, password=PASSWORD, confirmed=True)
    owner = limited_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.5.0.1"
    assert Auth(owner).login(email).status_code == 302  # the device cookie is set
    Auth(owner).logout()
    # The password changes (say, the owner reset it after a leak).
    new_password = "a brand new password"
    with limited_app.test_request_context():
        stored = accounts.find_user_by_email(email)
        token = make_token(
            "reset", {"user": str(stored.public_id), "pw": password_fingerprint(stored)}
        )
        assert accounts.reset_password(token, new_password)
    assert _wrong_from_new_addresses(limited_app, email, 4, 6)[-1] == 200
    assert _wrong_from_new_addresses(limited_app, email, 1, 7) == [429]
    # The old browser's cookie was for the old password: it waits like anyone.
    assert Auth(owner).login(email, new_password).status_code == 429


@pytest.mark.parametrize("flood", ["reset", "register"])
def test_one_inbox_gets_at_most_the_recipient_limit_whoever_asks(limited_app, flood):
    name = f"kim{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    with limited_app.test_request_context():
        accounts.register_user(email=email, username=name, password=PASSWORD, confirmed=True)
    # Not the outbox fixture: it builds the default app (see above).
    with mail.record_messages() as outbox:
        for n in range(8):  # from eight addresses, under each one's own limit
            client = limited_app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.6.{n}.1"
            if flood == "reset":
                response = Auth(client).post_form("/auth/reset", {"email": email})
            else:
                response = Auth(client).register(email, f"other{n}{name}")
            # The same answer every time: the page tells nothing of the limit.
            assert response.status_code == 302
            assert response.headers["Location"].endswith("/auth/login")
    assert [message.recipients for message in outbox] == [[email]] * 5


def test_no_check_runs_before_requests_for_limits_nobody_declared(limited_app):
    """Bulletin's limits are all on routes: Flask-Limiter's check before every
    request, for app-wide and default limits, is not run at all
    (extensions.check_limits_where_declared); the routes' own limits hold,
    as the tests above show."""
    hooks = limited_app.before_request_funcs[None]
    assert not [hook for hook in hooks if isinstance(getattr(hook, "__self__", None), Limiter)]


def test_a_default_limit_a_fork_adds_still_holds():
    # Its own Flask app and limiter: a default limit stays on a limiter for good.
    app = Flask(__name__)
    app.config.update(RATELIMIT_DEFAULT="2/minute", RATELIMIT_STORAGE_URI="memory://")
    limiter = Limiter(key_func=lambda: "one client")
    limiter.init_app(app)
    app.add_url_rule("/", "page", lambda: "page")
    check_limits_where_declared(app, limiter)
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
