"""New accounts: registration, the public sign-up form, and confirmation of the address."""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select

from ...core.mail import external_url, send_email
from ...core.passwords import hash_password
from ...core.signing import make_token, read_token
from ...extensions import db
from ...models import DEFAULT_ROLE, Role, User
from .. import ServiceError
from .identity import (
    check_available,
    commit_or_conflict,
    find_user_by_email,
    valid_email,
    valid_username,
)


def register_user(
    *,
    email: str,
    username: str,
    password: str,
    confirmed: bool = False,
    role_name: str = DEFAULT_ROLE,
) -> User:
    """Create an account; unconfirmed accounts are sent a confirmation link.

    The link's mail is queued in the account's own transaction: both
    commit, or neither does.
    """
    email, username = valid_email(email), valid_username(username)
    check_available(email=email, username=username)
    role = db.session.scalar(select(Role).where(Role.name == role_name))
    if role is None:
        raise ServiceError(f"Role {role_name!r} is missing: run `flask db upgrade`.")
    user = User(
        # Known before the insert: the confirmation link carries it.
        public_id=uuid.uuid4(),
        email=email,
        username=username,
        password_hash=hash_password(password),
        confirmed=confirmed,
        role=role,
    )
    db.session.add(user)
    if not confirmed:
        _queue_confirmation(user)
    commit_or_conflict()
    return user


def sign_up(*, email: str, username: str, password: str) -> User | None:
    """Register from the public form without telling whether the email has an account.

    A taken address gets a mail for its owner instead (sign in, or reset the
    password), and the caller answers as if the account were new. None then.
    """
    username = valid_username(username)
    check_available(username=username)
    owner = find_user_by_email(email)
    if owner is None:
        return register_user(email=email, username=username, password=password)
    hash_password(password)  # the same work as a new account, so timing tells nothing
    send_email(
        owner.email,
        "Someone tried to register with your address",
        "auth/email/already_registered",
        user=owner,
        login_url=external_url("auth.login"),
        reset_url=external_url("auth.password_reset_request"),
    )
    db.session.commit()
    return None


def send_confirmation(user: User) -> None:
    """Mail ``user`` a new confirmation link."""
    _queue_confirmation(user)
    db.session.commit()


def _queue_confirmation(user: User) -> None:
    token = make_token("confirm", {"user": str(user.public_id), "email": user.email})
    send_email(
        user.email,
        "Confirm your account",
        "auth/email/confirm",
        user=user,
        url=external_url("auth.confirm", token=token),
    )


def confirm_account(user: User, token: str) -> bool:
    """Confirm ``user`` when the token was made for this account and address."""
    payload = read_token("confirm", token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    if payload != {"user": str(user.public_id), "email": user.email}:
        return False
    if not user.confirmed:
        user.confirmed = True
        db.session.commit()
    return True
