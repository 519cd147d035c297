"""Second factors through the pages and the API: an authenticator app and
recovery codes (passkeys run in a real browser: tests/browser)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from bulletin import create_app
from bulletin.extensions import db
from bulletin.models import RecoveryCode, TotpFactor
from bulletin.services import accounts
from tests.conftest import empty_tables
from tests.support import PASSWORD, Auth, csrf_token_in, get_user


def enrol(client, auth, email: str = "ann@example.com") -> tuple[str, list[str]]:
    """Turn the authenticator on from the Security page; its secret and the recovery codes.

    The code it was turned on with is in ``ENROLLED_WITH[email]``.
    """
    auth.login(email)
    page = client.get("/auth/security/authenticator").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page  # the QR code, drawn by the server
    ENROLLED_WITH[email] = pyotp.TOTP(secret).now()
    shown = auth.post_form("/auth/security/authenticator", {"code": ENROLLED_WITH[email]}).get_data(
        as_text=True
    )
    codes = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", shown)
    assert len(codes) == 10
    auth.logout()
    return secret, codes


ENROLLED_WITH: dict[str, str] = {}


def code_for(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def second_step(auth, code: str):
    return auth.post_form("/auth/second-step", {"code": code})


@pytest.fixture
def ann(make_user):
    return make_user("ann")


def test_sign_in_asks_for_the_code_after_the_password(client, auth, ann):
    secret, _ = enrol(client, auth)
    answer = auth.login("ann@example.com")
    assert answer.headers["Location"].endswith("/auth/second-step")
    assert client.get("/auth/security").status_code == 302  # not signed in yet
    assert second_step(auth, code_for(secret, 1)).status_code == 302
    assert client.get("/auth/security").status_code == 200


def test_a_code_is_taken_once(client, auth, ann):
    secret, _ = enrol(client, auth)
    auth.login("ann@example.com")
    refused = second_step(auth, ENROLLED_WITH["ann@example.com"])  # spent turning it on
    assert "wrong or was used already" in refused.get_data(as_text=True)
    code = code_for(secret, 1)
    assert second_step(auth, code).headers["Location"] == "/"
    auth.logout()
    auth.login("ann@example.com")
    replayed = second_step(auth, code)
    assert "wrong or was used already" in replayed.get_data(as_text=True)


@pytest.fixture
def limited_app(database_url):
    """The app with limits on: three wrong codes per account."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "AUTH_RATE_LIMIT": "100/minute",
            "ACCOUNT_SIGN_IN_LIMIT": "3/15 minutes",
        },
    )
    yield app
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def test_wrong_codes_are_limited_per_account(limited_app):
    with limited_app.test_request_context():
        accounts.register_user(
            email="ann@example.com", username="ann", password=PASSWORD, confirmed=True
        )
    client = limited_app.test_client()
    auth = Auth(client)
    enrol(client, auth)
    auth.login("ann@example.com")
    answers = [second_step(auth, "000000").status_code for _ in range(3)]
    assert answers == [200, 200, 429]  # enrolment's code counted as one try


def test_recovery_codes_are_single_use_and_counted(client, auth, ann):
    _, codes = enrol(client, auth)
    auth.login("ann@example.com")
    used = second_step(auth, codes[0])
    assert used.status_code == 302
    assert "9 of 10 left" in client.get("/auth/security").get_data(as_text=True)
    auth.logout()
    auth.login("ann@example.com")
    assert "wrong or was used already" in second_step(auth, codes[0]).get_data(as_text=True)


def test_new_recovery_codes_void_the_old_ones(app, client, auth, ann):
    _, old = enrol(client, auth)
    auth.login("ann@example.com")
    second_step(auth, old[0])
    page = client.get("/auth/security").get_data(as_text=True)
    fresh = client.post("/auth/security/recovery-codes", data={"csrf_token": csrf_token_in(page)})
    new = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", fresh.get_data(as_text=True))
    assert len(new) == 10
    auth.logout()
    auth.login("ann@example.com")
    assert "wrong" in second_step(auth, old[1]).get_data(as_text=True)
    assert second_step(auth, new[0]).status_code == 302


def test_secrets_and_codes_are_not_stored_in_plain_text(app, client, auth, ann):
    secret, codes = enrol(client, auth)
    with app.app_context():
        stored = db.session.get(TotpFactor, ann.id).secret_encrypted
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert secret not in stored
    assert len(hashes) == 10
    assert not {code.replace("-", "") for code in codes} & set(hashes)
    assert not any(code in stored for code in codes)


def test_a_password_reset_keeps_the_factor(app, client, auth, outbox, ann):
    secret, _ = enrol(client, auth)
    auth.post_form("/auth/reset", {"email": "ann@example.com"})
    link = re.search(r"https?://[^/\s]+(/auth/reset/\S+)", outbox[-1].body).group(1)
    auth.post_form(link, {"password": "a new password 1", "password2": "a new password 1"})
    answer = auth.login("ann@example.com", "a new password 1")
    assert answer.headers["Location"].endswith("/auth/second-step")
    with app.app_context():
        assert accounts.has_second_factor(get_user(app, "ann"))


def test_the_security_page_and_email_change_ask_for_the_factor_again(client, auth, ann):
    secret, codes = enrol(client, auth)
    auth.login("ann@example.com")
    second_step(auth, code_for(secret, 1))
    with client.session_transaction() as session:
        session["factor_shown_at"] = time.time() - 3600  # an hour ago
    for path in ("/auth/security", "/auth/change-email"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert "/auth/verify" in answer.headers["Location"]
    # The authenticator's codes up to the one used are spent: a recovery code here.
    again = auth.post_form("/auth/verify?next=/auth/security", {"code": codes[0]})
    assert again.headers["Location"] == "/auth/security"
    assert client.get("/auth/security").status_code == 200


def test_turning_it_off_needs_a_fresh_factor_and_then_signs_in_with_the_password(client, auth, ann):
    secret, _ = enrol(client, auth)
    auth.login("ann@example.com")
    second_step(auth, code_for(secret, 1))
    page = client.get("/auth/security").get_data(as_text=True)
    client.post("/auth/security/authenticator/off", data={"csrf_token": csrf_token_in(page)})
    auth.logout()
    assert auth.login("ann@example.com").headers["Location"] == "/"


def test_an_unknown_account_and_a_protected_one_answer_alike_until_the_password(client, auth, ann):
    enrol(client, auth)
    wrong = auth.login("ann@example.com", "not the password").get_data(as_text=True)
    unknown = auth.login("nobody@example.com", "not the password").get_data(as_text=True)
    assert "Invalid email or password." in wrong

    def same(page: str, email: str) -> str:  # CSRF tokens are signed with the time: not compared
        return re.sub(
            r'(csrf_token" type="hidden" value|name="csrf-token" content)="[^"]+"',
            "",
            page.replace(email, "X"),
        )

    assert same(wrong, "ann@example.com") == same(unknown, "nobody@example.com")


def test_the_token_endpoint_refuses_the_password_alone(client, auth, ann):
    secret, codes = enrol(client, auth)
    alone = client.post("/api/v1/tokens", auth=("ann@example.com", PASSWORD))
    assert alone.status_code == 401
    assert alone.get_json()["details"] == {"second_factor": "required"}
    assert "X-Second-Factor" in alone.get_json()["message"]
    wrong = client.post(
        "/api/v1/tokens", auth=("ann@example.com", PASSWORD), headers={"X-Second-Factor": "1"}
    )
    assert wrong.status_code == 401
    with_code = client.post(
        "/api/v1/tokens",
        auth=("ann@example.com", PASSWORD),
        headers={"X-Second-Factor": code_for(secret, 1)},
    )
    assert with_code.status_code == 201
    token = with_code.get_json()["token"]
    assert client.get("/api/v1/tasks", headers={"x-access-token": token}).status_code == 200


def test_accounts_without_a_factor_get_tokens_as_before(client, make_user):
    make_user("bob")
    assert client.post("/api/v1/tokens", auth=("bob@example.com", PASSWORD)).status_code == 201


def test_the_staff_rule_keeps_staff_on_the_setup_page_and_off_the_api(app, client, auth, make_user):
    make_user("root", role="Administrator")
    make_user("mod", role="Moderator")
    make_user("carl")
    app.config["STAFF_SECOND_FACTOR"] = True
    auth.login("root@example.com")
    answer = client.get("/moderate")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/auth/security")
    assert "Your role needs a second factor" in client.get("/auth/security").get_data(as_text=True)
    for staff in ("root@example.com", "mod@example.com"):
        refused = client.post("/api/v1/tokens", auth=(staff, PASSWORD))
        assert refused.status_code == 403
    assert client.post("/api/v1/tokens", auth=("carl@example.com", PASSWORD)).status_code == 201
    auth.post_form("/auth/logout", {}, form_page="/auth/security")  # the one page it may see
    secret, _ = enrol(client, auth, "root@example.com")
    auth.login("root@example.com")
    second_step(auth, code_for(secret, 1))
    assert client.get("/moderate").status_code == 200


def test_an_administrator_resets_anothers_factors_not_their_own(
    app, client, auth, make_user, caplog
):
    root = make_user("root", role="Administrator")
    make_user("ann")
    enrol(client, auth, "ann@example.com")
    ann = get_user(app, "ann")
    auth.login("root@example.com")
    edit = f"/edit-profile/{ann.public_id}"
    token = csrf_token_in(client.get(edit).get_data(as_text=True))
    caplog.set_level("WARNING", logger="bulletin.services.accounts.factors")
    client.post(f"{edit}/second-factors/reset", data={"csrf_token": token})
    with app.app_context():
        assert not accounts.has_second_factor(get_user(app, "ann"))
    assert "administrator root" in caplog.text
    own = client.post(
        f"/edit-profile/{root.public_id}/second-factors/reset", data={"csrf_token": token}
    )
    assert own.status_code == 303  # refused, and said why


def test_passkey_requests_out_of_turn_get_a_json_error_that_says_what_to_do(client, auth, ann):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    headers = {
        "Accept": "application/json",
        "X-CSRFToken": token,
        "Referer": "http://localhost/auth/login",
    }
    answer = client.post("/auth/passkey", json={"credential": {}}, headers=headers)
    assert answer.status_code == 400
    assert "Start again" in answer.get_json()["message"]
    garbage = client.post("/auth/passkey/options", headers=headers)
    assert garbage.status_code == 200
    assert garbage.get_json()["publicKey"]["rpId"] == "localhost"
    forged = client.post("/auth/passkey", json={"credential": {"id": "x"}}, headers=headers)
    assert forged.status_code == 422
    assert forged.get_json()["message"]
