"""Changing what signs an account in: its password (changed or reset by
mail) and its email address (confirmed from the new one)."""

from __future__ import annotations

import hashlib

from flask import current_app

from ...core import throttle
from ...core.mail import external_url, send_email
from ...core.passwords import hash_password, verify_password
from ...core.signing import make_token, read_token
from ...extensions import db
from ...models import User
from .. import ServiceError
from .identity import (
    check_available,
    commit_or_conflict,
    find_user_by_email,
    find_user_by_public_id,
    valid_email,
)
from .sessions import end_all_sessions
from .signin import failed_sign_ins


def password_fingerprint(user: User) -> str:
    # In the reset token, so a used (or outdated) link stops working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def change_password(user: User, *, old_password: str, new_password: str) -> None:
    """Set a new password and sign out every other session and API token."""
    if not verify_password(user.password_hash, old_password):
        raise ServiceError("The current password is wrong.", field="old_password")
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    db.session.commit()


def send_password_reset(email: str) -> None:
    """Mail a reset link when the address has an account; say nothing either way."""
    user = find_user_by_email(email)
    if user is None:
        return
    token = make_token("reset", {"user": str(user.public_id), "pw": password_fingerprint(user)})
    send_email(
        user.email,
        "Reset your password",
        "auth/email/reset_password",
        user=user,
        url=external_url("auth.password_reset", token=token),
    )
    db.session.commit()


def reset_password(token: str, new_password: str) -> bool:
    payload = read_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    if payload is None:
        return False
    user = find_user_by_public_id(payload.get("user"))
    if user is None or payload.get("pw") != password_fingerprint(user):
        return False
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    db.session.commit()
    for login in (user.email, user.username):
        throttle.forget(current_app.config["ACCOUNT_SIGN_IN_LIMIT"], failed_sign_ins(login))
    return True


def request_email_change(user: User, *, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address; the change waits for it.

    An address another account has gets that account's owner a notice
    instead, and the caller answers as if a link were sent: the form tells
    nobody which addresses are registered, as registration does not.
    """
    if not verify_password(user.password_hash, password):
        raise ServiceError("The password is wrong.", field="password")
    new_email = valid_email(new_email)
    owner = find_user_by_email(new_email)
    if owner is not None and owner is not user:
        send_email(
            owner.email,
            "Someone tried to use your address",
            "auth/email/address_in_use",
            user=owner,
            login_url=external_url("auth.login"),
        )
        db.session.commit()
        return
    # The current address is in the link: once it changes (this link used,
    # or another), the link no longer matches and stops working.
    payload = {"user": str(user.public_id), "old_email": user.email, "new_email": new_email}
    send_email(
        new_email,
        "Confirm your new email address",
        "auth/email/change_email",
        user=user,
        url=external_url("auth.change_email", token=make_token("change-email", payload)),
    )
    db.session.commit()


def pending_email_change(user: User, token: str) -> str | None:
    """The address a change-email link would switch ``user`` to, while it may."""
    payload = read_token("change-email", token, current_app.config["CHANGE_EMAIL_TOKEN_MAX_AGE"])
    if payload is None or payload.get("user") != str(user.public_id):
        return None
    if payload.get("old_email") != user.email:  # used already, or another change since
        return None
    return str(payload["new_email"])


def change_email(user: User, token: str) -> bool:
    """Switch to the link's address once, tell the old address, and sign out
    every other session and API token (a stolen session cannot keep a
    hijacked account)."""
    new_email = pending_email_change(user, token)
    if new_email is None:
        return False
    check_available(email=new_email, exclude=user)
    old_email, user.email = user.email, new_email
    end_all_sessions(user)
    send_email(
        old_email,
        "Your email address was changed",
        "auth/email/email_changed",
        user=user,
        new_email=new_email,
        reset_url=external_url("auth.password_reset_request"),
    )
    commit_or_conflict()
    return True
