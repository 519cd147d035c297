"""One rule for what an email address is, wherever one is taken; and any
address that is stored can sign in."""

from __future__ import annotations

import pytest

from bulletin.core.email_addresses import checked_email
from tests.support import PASSWORD, get_user

LAN_ADDRESSES = ["admin@corp.local", "ops@nas.home.arpa", "qa@ci.test"]
NOT_ADDRESSES = ["not-an-email", "a b@example.com", "x@nowhere.invalid", "x@hidden.onion"]


@pytest.mark.parametrize("address", LAN_ADDRESSES + ["Someone@Example.com "])
def test_lan_and_ordinary_addresses_are_addresses(app, address):
    assert checked_email(address) == address.strip().lower()


@pytest.mark.parametrize("address", NOT_ADDRESSES + ["a" * 250 + "@example.com"])
def test_what_is_not_an_address_says_so(app, address):
    with pytest.raises(ValueError, match="Invalid email address"):
        checked_email(address)


def test_an_admin_made_on_the_command_line_at_a_lan_address_signs_in(app, runner, auth):
    """The reported bug: create-admin accepted admin@corp.local, sign-in refused it."""
    result = runner.invoke(
        args=["create-admin", "admin@corp.local", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    response = auth.login("admin@corp.local")
    assert response.status_code == 302, response.data[:300]
    assert b"Invalid email address" not in response.data


@pytest.mark.parametrize("address", NOT_ADDRESSES)
def test_the_command_line_refuses_what_the_form_refuses(app, runner, auth, address):
    result = runner.invoke(
        args=["create-admin", address, "admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code != 0
    assert "Invalid email address" in result.output
    form = auth.register(address, "someone")
    assert b"Invalid email address" in form.data
    assert get_user(app, "admin") is None
    assert get_user(app, "someone") is None


def test_registering_and_changing_to_a_lan_address_work(app, auth, outbox, make_user):
    response = auth.register("newcomer@office.local", "newcomer")
    assert response.status_code == 302
    assert get_user(app, "newcomer").email == "newcomer@office.local"
    make_user("mover")
    auth.login("mover@example.com")
    changed = auth.post_form("/auth/change-email", {"email": "me@lab.test", "password": PASSWORD})
    assert changed.status_code == 302
    assert outbox[-1].recipients == ["me@lab.test"]


def test_a_stored_address_the_rule_would_refuse_still_signs_in(app, auth, make_user):
    user = make_user("legacy")
    with app.app_context():
        from bulletin.extensions import db
        from bulletin.models import User

        db.session.get(User, user.id).email = "legacy@localhost"  # stored before the rule
        db.session.commit()
    assert auth.login("legacy@localhost").status_code == 302
