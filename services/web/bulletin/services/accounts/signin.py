"""Signing in: the password check, its limit per account, and the device
cookie that exempts the owner's own browsers from that limit."""

from __future__ import annotations

from flask import current_app

from ...core import throttle
from ...core.passwords import hash_password, needs_rehash, spend_verify_time, verify_password
from ...core.signing import make_token, read_token
from ...extensions import db
from ...models import User
from .. import TooManyAttempts
from .identity import find_user_by_login


def failed_sign_ins(login: str) -> tuple[str, str]:
    """The count of failures for a login as typed (an email or a username, in
    any case), kept whether or not an account has it, so the limit's answer
    tells nobody which accounts exist."""
    return ("failed-sign-in", throttle.typed(login))


def authenticate(*, login: str, password: str, device: str | None = None) -> User | None:
    """The user whose credentials these are, or None; both failures look alike.

    Failures also count per login (ACCOUNT_SIGN_IN_LIMIT), whatever address
    they come from; when spent, the login refuses every password for a while,
    an unknown one as well as a real one. A browser that signed in to the
    account before (``device``, its device cookie) is let through, so an
    attacker can slow guessing down but never lock the owner out; a password
    reset starts the count again.
    """
    user = find_user_by_login(login)
    limit = current_app.config["ACCOUNT_SIGN_IN_LIMIT"]
    known_device = user is not None and is_known_device(user, device)
    wait = None if known_device else throttle.retry_after(limit, failed_sign_ins(login))
    if wait is not None:
        spend_verify_time(password)
        raise TooManyAttempts(
            "Too many failed sign-ins for this account. Try again in "
            f"{max(1, wait // 60)} minute(s), or reset your password by email.",
            retry_after=wait,
        )
    if user is None:
        spend_verify_time(password)
        throttle.spend(limit, failed_sign_ins(login))
        return None
    if not verify_password(user.password_hash, password):
        throttle.spend(limit, failed_sign_ins(login))
        return None
    throttle.forget(limit, failed_sign_ins(login))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600


def device_token(user: User) -> str:
    """What a browser keeps after signing in: it names the account it knows,
    as of its current password (the token version a password change or reset
    moves on), so a thief who learns a new password gains nothing from it."""
    return make_token("device", {"user": str(user.public_id), "v": user.token_version})


def is_known_device(user: User, token: str | None) -> bool:
    """Whether a device cookie is genuine and was given to ``user`` since the
    last password change."""
    payload = read_token("device", token or "", DEVICE_COOKIE_MAX_AGE)
    return payload == {"user": str(user.public_id), "v": user.token_version}
