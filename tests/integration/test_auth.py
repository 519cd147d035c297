"""Accounts through the HTML pages: register, confirm, sign in and out, credentials."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import update

from bulletin.core.signing import make_token
from bulletin.extensions import db
from bulletin.models import LoginSession, User, utcnow
from bulletin.services import accounts
from tests.support import PASSWORD, Auth, bearer, count, csrf_token, get_token, get_user, link_in


def location(response) -> str:
    return urlsplit(response.headers["Location"]).path


def test_register_confirm_and_sign_in(app, client, auth, outbox):
    response = auth.register("Ann@Example.com", "ann")
    assert response.status_code == 302
    assert location(response) == "/auth/login"
    user = get_user(app, "ann")
    assert user.email == "ann@example.com"
    assert not user.confirmed
    assert user.password_hash.startswith("$argon2id$")
    assert len(outbox) == 1
    assert outbox[0].recipients == ["ann@example.com"]
    assert "Confirm" in outbox[0].subject
    assert outbox[0].html

    auth.login("ANN@example.com")
    # Unconfirmed: every page leads to the confirmation page.
    for path in ("/", "/user/ann", "/edit-profile", "/auth/change-password"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert location(response) == "/auth/unconfirmed", path
    assert b"Send a new confirmation email" in client.get("/auth/unconfirmed").data

    response = client.get(link_in(outbox[0]))
    assert location(response) == "/"
    assert get_user(app, "ann").confirmed
    assert client.get("/").status_code == 200


def test_confirmation_link_is_absolute_https_with_server_name(app, outbox):
    app.config.update(PUBLIC_HOST="bulletin.example", PREFERRED_URL_SCHEME="https")
    # Over https, Flask-WTF also checks that the form came from this site; the
    # link still names the public host, not the one the request came to.
    Auth(app.test_client()).post_form(
        "/auth/register",
        {
            "email": "bob@example.com",
            "username": "bob",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
        headers={"Referer": "https://localhost/auth/register"},
    )
    assert "https://bulletin.example/auth/confirm/" in outbox[0].body


def test_resend_confirmation(client, auth, outbox, make_user):
    make_user("carol", confirmed=False)
    auth.login("carol@example.com")
    response = auth.post_form("/auth/confirm", {}, form_page="/auth/unconfirmed")
    assert location(response) == "/auth/unconfirmed"
    assert len(outbox) == 2
    assert "/auth/confirm/" in outbox[1].body


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_bad_confirmation_token_is_refused(app, client, auth, make_user, token):
    make_user("dave", confirmed=False)
    auth.login("dave@example.com")
    response = client.get(f"/auth/confirm/{token}", follow_redirects=True)
    assert not get_user(app, "dave").confirmed
    if token:
        assert b"invalid or has expired" in response.data


def test_expired_confirmation_token_is_refused(app, client, auth, make_user):
    user = make_user("erin", confirmed=False)
    with app.app_context():
        token = make_token("confirm", {"user": str(user.public_id), "email": user.email})
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    auth.login("erin@example.com")
    response = client.get(f"/auth/confirm/{token}", follow_redirects=True)
    assert b"invalid or has expired" in response.data
    assert not get_user(app, "erin").confirmed


def test_confirmation_token_for_another_account_is_refused(app, client, auth, make_user):
    other = make_user("frank", confirmed=False)
    make_user("gina", confirmed=False)
    with app.app_context():
        token = make_token("confirm", {"user": str(other.public_id), "email": other.email})
    auth.login("gina@example.com")
    client.get(f"/auth/confirm/{token}")
    assert not get_user(app, "gina").confirmed
    assert not get_user(app, "frank").confirmed


def test_token_signed_with_another_key_is_refused(app, client, auth, make_user):
    user = make_user("hank", confirmed=False)
    forged = URLSafeTimedSerializer("not-our-key", salt="bulletin.confirm").dumps(
        {"user": str(user.public_id), "email": user.email}
    )
    auth.login("hank@example.com")
    client.get(f"/auth/confirm/{forged}")
    assert not get_user(app, "hank").confirmed


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@example.com", "Alice@Example.COM"])
def test_a_taken_email_gets_the_same_answer_and_a_mail_to_its_owner(
    app, auth, make_user, outbox, email
):
    """Registration must not tell a stranger which addresses have accounts."""
    make_user("alice")
    taken = auth.register(email, "alice2")
    new = auth.register("nobody@example.com", "nobody")
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    assert get_user(app, "alice2") is None
    to_owner = [m for m in outbox if m.recipients == ["alice@example.com"]]
    assert len(to_owner) == 1
    assert "tried to create" in to_owner[0].body
    assert "/auth/reset" in to_owner[0].body


def test_username_taken_in_another_case_is_refused(auth, make_user):
    make_user("alice")
    response = auth.register("other@example.com", "ALICE")
    assert response.status_code == 303
    assert location(response) == "/auth/register"
    assert b"already taken" in auth.client.get("/auth/register").data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", b"Invalid email address"),
        ("email", "a" * 250 + "@example.com", b"Field cannot be longer than 254 characters"),
        ("username", "x" * 65, b"Field cannot be longer than 64 characters"),
        ("username", "9lives", b"starting with a letter"),
        ("username", "bad name", b"starting with a letter"),
        ("password", "short", b"Field must be between 8 and 128 characters long"),
        ("password", "p" * 129, b"Field must be between 8 and 128 characters long"),
    ],
)
def test_bad_registration_input_is_a_form_error(app, auth, field, value, message):
    data = {"email": "ok@example.com", "username": "okname", "password": PASSWORD}
    data[field] = value
    password = data["password"]
    response = auth.post_form("/auth/register", {**data, "password2": password})
    assert response.status_code == 200
    assert message in response.data
    assert count(app, User) == 0


def test_password_of_64_characters_and_more_is_accepted(auth, client):
    long_password = "p" * 128
    auth.register("long@example.com", "longpw", long_password)
    assert location(auth.login("long@example.com", long_password)) == "/"


def test_mismatched_passwords_are_a_form_error(auth):
    response = auth.post_form(
        "/auth/register",
        {
            "email": "a@example.com",
            "username": "abc",
            "password": PASSWORD,
            "password2": "other pw 1",
        },
    )
    assert b"Passwords must match" in response.data


def test_unknown_email_and_wrong_password_look_alike(auth, make_user):
    make_user("ivan")
    wrong_password = auth.login("ivan@example.com", "wrong password")
    unknown_email = auth.login("nobody@example.com", "wrong password")
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert b"Invalid email or password." in wrong_password.data
    assert b"Invalid email or password." in unknown_email.data


def test_login_with_email_in_any_case(auth, make_user):
    make_user("judy")
    assert location(auth.login("  JUDY@Example.com ")) == "/"


def test_missing_csrf_token_is_refused(client, make_user):
    make_user("kim")
    response = client.post("/auth/login", data={"email": "kim@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert b"CSRF" in response.data
    assert "session" not in response.headers.get("Set-Cookie", "") or b"_user_id" not in b""


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "https%3A%2F%2Fevil.example",
    ],
)
def test_next_after_login_never_leaves_the_site(auth, make_user, target):
    make_user("leo")
    response = auth.login("leo@example.com", next_path=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_after_login_goes_to_a_local_path(auth, make_user):
    make_user("mia")
    response = auth.login("mia@example.com", next_path="/user/mia")
    assert response.headers["Location"] == "/user/mia"


def test_login_required_pages_send_you_back_after_signing_in(client, auth, make_user):
    make_user("ned")
    response = client.get("/edit-profile")
    assert location(response) == "/auth/login"
    login_page = response.headers["Location"]
    next_path = login_page.split("next=", 1)[1]
    assert auth.login("ned@example.com", next_path=next_path).headers["Location"] == "/edit-profile"


def _cookies(client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def test_session_cookie_changes_at_login(client, auth, make_user):
    make_user("olga")
    client.get("/auth/login")
    before = _cookies(client).get("session")
    auth.login("olga@example.com")
    after = _cookies(client).get("session")
    assert after
    assert after != before


def _replay(app, cookies: dict[str, str]):
    """A second browser presenting captured cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief.get("/edit-profile")


def test_session_cookie_replayed_after_logout_is_rejected(app, client, auth, make_user):
    make_user("pat")
    auth.login("pat@example.com")
    captured = {"session": _cookies(client)["session"]}
    assert _replay(app, captured).status_code == 200
    auth.logout()
    assert location(_replay(app, captured)) == "/auth/login"


def test_remember_cookie_replayed_after_logout_is_rejected(app, client, auth, make_user):
    make_user("quinn")
    auth.login("quinn@example.com", remember=True)
    captured = {"remember_token": _cookies(client)["remember_token"]}
    assert _replay(app, captured).status_code == 200  # the cookie alone signs in
    auth.logout()
    assert location(_replay(app, captured)) == "/auth/login"
    assert count(app, LoginSession) == 0


def _age_sessions(app, **ago) -> None:
    """Move every session's sign-in and last request ``ago`` into the past."""
    with app.app_context():
        past = utcnow() - timedelta(**ago)
        db.session.execute(update(LoginSession).values(created_at=past, last_seen_at=past))
        db.session.commit()


def test_a_remembered_session_ends_after_its_lifetime(app, client, auth, make_user):
    """A 400-day-old row with its remember cookie used to still sign in."""
    make_user("uma")
    auth.login("uma@example.com", remember=True)
    captured = {"remember_token": _cookies(client)["remember_token"]}
    _age_sessions(app, days=13)
    assert _replay(app, captured).status_code == 200  # within 14 days: still signed in
    _age_sessions(app, days=400)
    assert location(_replay(app, captured)) == "/auth/login"


def test_a_session_without_remember_me_ends_when_idle(app, client, auth, make_user):
    make_user("vic")
    auth.login("vic@example.com")
    captured = {"session": _cookies(client)["session"]}
    _age_sessions(app, minutes=100)
    assert _replay(app, captured).status_code == 200  # a request renews it
    _age_sessions(app, minutes=121)
    assert location(_replay(app, captured)) == "/auth/login"


def test_prune_sessions_deletes_only_expired_rows(app, auth, make_user, runner):
    make_user("wes")
    make_user("xan")
    auth.login("wes@example.com", remember=True)
    _age_sessions(app, days=20)
    Auth(app.test_client()).login("xan@example.com")  # a fresh one stays
    result = runner.invoke(args=["prune-sessions"])
    assert result.exit_code == 0
    assert "Deleted 1 expired" in result.output
    assert count(app, LoginSession) == 1


def test_cookies_replayed_after_password_change_are_rejected(app, client, auth, make_user):
    make_user("rita")
    other_browser = app.test_client()
    Auth(other_browser).login("rita@example.com", remember=True)
    stolen = _cookies(other_browser)
    auth.login("rita@example.com", remember=True)
    response = auth.post_form(
        "/auth/change-password",
        {"old_password": PASSWORD, "password": "a brand new pw", "password2": "a brand new pw"},
    )
    assert location(response) == "/"
    assert location(_replay(app, stolen)) == "/auth/login"
    assert location(_replay(app, {"remember_token": stolen["remember_token"]})) == "/auth/login"
    # The browser that changed it stays signed in.
    assert client.get("/edit-profile").status_code == 200


def test_change_password_needs_the_current_one(app, auth, make_user):
    old_hash = make_user("sam").password_hash
    auth.login("sam@example.com")
    response = auth.post_form(
        "/auth/change-password",
        {
            "old_password": "not my password",
            "password": "new password 1",
            "password2": "new password 1",
        },
        follow_redirects=True,
    )
    assert response.request.path == "/auth/change-password"  # back on the form
    assert b"The current password is wrong." in response.data
    assert get_user(app, "sam").password_hash == old_hash


def test_password_reset_by_email(client, auth, outbox, make_user):
    make_user("tina")
    response = auth.post_form("/auth/reset", {"email": "TINA@example.com"})
    assert location(response) == "/auth/login"
    link = link_in(outbox[0])
    response = auth.post_form(link, {"password": "new secret 123", "password2": "new secret 123"})
    assert location(response) == "/auth/login"
    assert b"Invalid email or password." in auth.login("tina@example.com", PASSWORD).data
    assert location(auth.login("tina@example.com", "new secret 123")) == "/"
    auth.logout()
    # The link works once.
    response = auth.post_form(link, {"password": "third one 123", "password2": "third one 123"})
    assert location(response) == "/auth/reset"


def test_password_reset_for_unknown_email_looks_the_same(auth, outbox, make_user):
    make_user("uma")
    known = auth.post_form("/auth/reset", {"email": "uma@example.com"}, follow_redirects=True)
    unknown = auth.post_form("/auth/reset", {"email": "nobody@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert b"If an account uses that address" in unknown.data
    assert len(outbox) == 1


@pytest.mark.parametrize("token", ["garbage", "x" * 300])
def test_bad_reset_token_is_refused(app, auth, make_user, token):
    old_hash = make_user("vic").password_hash
    response = auth.post_form(
        f"/auth/reset/{token}", {"password": "new secret 123", "password2": "new secret 123"}
    )
    assert location(response) == "/auth/reset"
    assert get_user(app, "vic").password_hash == old_hash


def test_expired_reset_token_is_refused(app, auth, outbox, make_user):
    make_user("wes")
    auth.post_form("/auth/reset", {"email": "wes@example.com"})
    app.config["RESET_TOKEN_MAX_AGE"] = -1
    response = auth.post_form(
        link_in(outbox[0]), {"password": "new secret 123", "password2": "new secret 123"}
    )
    assert location(response) == "/auth/reset"


def test_change_email_confirms_the_new_address(app, client, auth, outbox, make_user):
    make_user("xena")
    auth.login("xena@example.com")
    response = auth.post_form(
        "/auth/change-email", {"email": "Xena.New@Example.com", "password": PASSWORD}
    )
    assert location(response) == "/"
    assert outbox[0].recipients == ["xena.new@example.com"]
    assert get_user(app, "xena").email == "xena@example.com"  # not before the link is followed
    link = link_in(outbox[0])
    page = client.get(link)  # opening the link (or a mail scanner's prefetch) changes nothing
    assert b"xena.new@example.com" in page.data
    assert b"Use this address" in page.data
    assert get_user(app, "xena").email == "xena@example.com"
    assert location(auth.post_form(link, {})) == "/"
    assert get_user(app, "xena").email == "xena.new@example.com"
    # The old address is told, with what to do if it was not its owner.
    assert outbox[-1].recipients == ["xena@example.com"]
    assert "changed to xena.new@example.com" in outbox[-1].body
    assert "/auth/reset" in outbox[-1].body


def test_a_change_email_link_works_once(app, client, auth, outbox, make_user):
    make_user("yara")
    auth.login("yara@example.com")
    auth.post_form("/auth/change-email", {"email": "yara2@example.com", "password": PASSWORD})
    first = link_in(outbox[-1])
    auth.post_form("/auth/change-email", {"email": "yara3@example.com", "password": PASSWORD})
    second = link_in(outbox[-1])
    auth.post_form(second, {})
    assert get_user(app, "yara").email == "yara3@example.com"
    # The older link, once valid, no longer switches the address back.
    refused = auth.post_form(second, {}, form_page="/")
    assert location(refused) == "/"
    again = client.post(first, data={"csrf_token": csrf_token(client, "/")})
    assert location(again) == "/"
    assert b"invalid, used or expired" in client.get("/").data
    assert get_user(app, "yara").email == "yara3@example.com"


def test_changing_the_email_signs_out_every_other_session(app, auth, outbox, make_user):
    make_user("zack")
    other = Auth(app.test_client())
    other.login("zack@example.com")
    token = get_token(other.client, "zack@example.com")
    auth.login("zack@example.com")
    auth.post_form("/auth/change-email", {"email": "zack2@example.com", "password": PASSWORD})
    auth.post_form(link_in(outbox[-1]), {})
    assert get_user(app, "zack").email == "zack2@example.com"
    assert auth.client.get("/auth/change-password").status_code == 200  # this browser stays
    assert other.client.get("/auth/change-password").status_code == 302  # the other is out
    assert other.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_change_email_to_a_taken_address_answers_alike_and_tells_its_owner(
    app, auth, outbox, make_user
):
    make_user("yuri")
    make_user("zoe")
    auth.login("yuri@example.com")
    response = auth.post_form(
        "/auth/change-email", {"email": "ZOE@example.com", "password": PASSWORD}
    )
    assert location(response) == "/"
    assert b"A confirmation link has been sent to the new address." in auth.client.get("/").data
    assert [message.recipients for message in outbox] == [["zoe@example.com"]]
    assert "already has an account" in outbox[0].body
    assert get_user(app, "yuri").email == "yuri@example.com"


def test_login_rehashes_when_parameters_change(app, auth, make_user):
    make_user("abe")
    app.config["ARGON2_TIME_COST"] = 3
    auth.login("abe@example.com")
    assert "t=3" in get_user(app, "abe").password_hash


def test_unknown_email_costs_a_hash_too(app, make_user, monkeypatch):
    make_user("ben")
    verified = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, *args: verified.append(1) or real_verify(self, *args)
    )
    with app.app_context():
        accounts.authenticate(login="nobody@example.com", password="whatever 123")
    assert verified == [1]  # argon2 ran, so an unknown address takes as long as a known one


def test_passwords_and_tokens_stay_out_of_logs(client, auth, outbox, make_user, caplog):
    make_user("cal")
    caplog.set_level("DEBUG")
    auth.login("cal@example.com", PASSWORD)
    auth.logout()
    auth.post_form("/auth/reset", {"email": "cal@example.com"})
    token = link_in(outbox[0]).rsplit("/", 1)[1]
    client.get(f"/auth/reset/{token}")
    assert PASSWORD not in caplog.text
    assert token not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{"Host": "attacker.example"}, {"X-Forwarded-Host": "attacker.example"}],
    ids=["host", "x-forwarded-host"],
)
def test_unknown_hosts_are_refused(app, headers, caplog):
    app.config["PROXY_HOPS"] = 1
    from bulletin.runtime.proxy import trust_proxy

    trust_proxy(app)
    with caplog.at_level("ERROR"):
        response = app.test_client().get("/auth/reset", headers=headers)
    assert response.status_code == 400
    assert not caplog.records  # a refusal, not an error worth a trace


def test_reset_link_uses_the_public_host_whatever_the_request_says(app, outbox, make_user):
    """Password-reset poisoning: even a host the app accepts never reaches the link."""
    make_user("rita")
    app.config.update(PUBLIC_HOST="bulletin.example", TRUSTED_HOSTS=None)
    # The attacker's own browser session, on the attacker's host name.
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "attacker.example"
    Auth(client).post_form("/auth/reset", {"email": "rita@example.com"})
    assert len(outbox) == 1
    assert "http://bulletin.example/auth/reset/" in outbox[0].body
    assert "attacker.example" not in outbox[0].body
