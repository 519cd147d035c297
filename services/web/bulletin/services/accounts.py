"""Accounts: registration, sign-in sessions, confirmation and credential changes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..core import throttle
from ..core.email_addresses import checked_email
from ..core.mail import external_url, send_email
from ..core.passwords import hash_password, needs_rehash, spend_verify_time, verify_password
from ..core.signing import make_token, read_token
from ..core.usernames import checked_username
from ..extensions import db
from ..models import DEFAULT_ROLE, LoginSession, Role, User, utcnow
from ..models.user import normalize_email
from . import Conflict, ServiceError, TooManyAttempts

LAST_SEEN_INTERVAL = timedelta(minutes=1)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def find_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def find_user_by_login(login: str) -> User | None:
    """Look a user up by email or by username, as the API's Basic auth allows."""
    if "@" in login:
        return find_user_by_email(login)
    return find_user_by_username(login)


def _check_available(
    *, email: str | None = None, username: str | None = None, exclude: User | None = None
) -> None:
    if email is not None:
        other = find_user_by_email(email)
        if other is not None and other is not exclude:
            raise Conflict("This email is already registered.", field="email")
    if username is not None:
        other = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if other is not None and other is not exclude:
            raise Conflict("This username is already taken.", field="username")


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        # Another request took the same email or username between check and
        # commit; the database's unique indexes say which.
        db.session.rollback()
        if "username" in str(error.orig):
            raise Conflict("This username is already taken.", field="username") from None
        if "email" in str(error.orig):
            raise Conflict("This email is already registered.", field="email") from None
        raise Conflict("This email or username is already taken.") from None


def _by_rule(check: Callable[[str], str], value: str, *, field: str) -> str:
    """``value`` as the rule ``check`` stores it (bulletin/core/email_addresses.py,
    bulletin/core/usernames.py), or the rule's ValueError as a broken rule on ``field``."""
    try:
        return check(value)
    except ValueError as error:
        raise ServiceError(str(error), field=field) from None


def _valid_email(email: str) -> str:
    return _by_rule(checked_email, email, field="email")


def _valid_username(username: str) -> str:
    return _by_rule(checked_username, username, field="username")


def register_user(
    *,
    email: str,
    username: str,
    password: str,
    confirmed: bool = False,
    role_name: str = DEFAULT_ROLE,
) -> User:
    """Create an account; unconfirmed accounts are sent a confirmation link."""
    email, username = _valid_email(email), _valid_username(username)
    _check_available(email=email, username=username)
    role = db.session.scalar(select(Role).where(Role.name == role_name))
    if role is None:
        raise ServiceError(f"Role {role_name!r} is missing: run `flask db upgrade`.")
    user = User(
        email=email,
        username=username,
        password_hash=hash_password(password),
        confirmed=confirmed,
        role=role,
    )
    db.session.add(user)
    _commit_or_conflict()
    if not confirmed:
        send_confirmation(user)
    return user


def _failed_sign_ins(login: str) -> tuple[str, str]:
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
    wait = None if known_device else throttle.retry_after(limit, _failed_sign_ins(login))
    if wait is not None:
        spend_verify_time(password)
        raise TooManyAttempts(
            "Too many failed sign-ins for this account. Try again in "
            f"{max(1, wait // 60)} minute(s), or reset your password by email.",
            retry_after=wait,
        )
    if user is None:
        spend_verify_time(password)
        throttle.spend(limit, _failed_sign_ins(login))
        return None
    if not verify_password(user.password_hash, password):
        throttle.spend(limit, _failed_sign_ins(login))
        return None
    throttle.forget(limit, _failed_sign_ins(login))
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


def _expired_sessions() -> ColumnElement[bool]:
    """Sessions past their lifetime, or idle too long without "remember me"."""
    config = current_app.config
    now = utcnow()
    return or_(
        LoginSession.created_at < now - config["REMEMBER_COOKIE_DURATION"],
        and_(
            LoginSession.remember.is_(False),
            LoginSession.last_seen_at < now - config["SESSION_IDLE_TIMEOUT"],
        ),
    )


def start_login_session(user: User, *, remember: bool = False) -> str:
    """Record a new signed-in browser for ``user``; its id goes in the cookies."""
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, _expired_sessions())
    )
    session_id = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=session_id, user_id=user.id, remember=remember))
    db.session.commit()
    user.login_session_id = session_id
    return session_id


def load_login_session(session_id: str) -> User | None:
    """The user of a live session; an expired one is refused (and pruned later)."""
    row = db.session.execute(
        select(User, LoginSession.last_seen_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == session_id, not_(_expired_sessions()))
    ).first()
    if row is None:
        return None
    user, last_seen_at = row._tuple()
    if utcnow() - last_seen_at >= LAST_SEEN_INTERVAL:  # one write a minute at most
        db.session.execute(
            update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=utcnow())
        )
        db.session.commit()
    user.login_session_id = session_id
    return user


def prune_login_sessions() -> int:
    """Delete every expired session row; how many went."""
    result = db.session.execute(delete(LoginSession).where(_expired_sessions()))
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DELETE gives a CursorResult


def end_login_session(session_id: str | None) -> None:
    if session_id:
        db.session.execute(delete(LoginSession).where(LoginSession.id == session_id))
        db.session.commit()


def _end_all_sessions(user: User) -> None:
    """Sign out every browser and revoke every API token of ``user``."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    user.token_version += 1


def touch_last_seen(user: User) -> None:
    """Record activity, at most once a minute so most requests write nothing."""
    now = utcnow()
    if user.last_seen is None or now - user.last_seen >= LAST_SEEN_INTERVAL:
        user.last_seen = now
        db.session.commit()


# Confirmation ---------------------------------------------------------------


def send_confirmation(user: User) -> None:
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


# Password changes -----------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    # In the reset token, so a used (or outdated) link stops working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def change_password(user: User, *, old_password: str, new_password: str) -> None:
    """Set a new password and sign out every other session and API token."""
    if not verify_password(user.password_hash, old_password):
        raise ServiceError("The current password is wrong.", field="old_password")
    user.password_hash = hash_password(new_password)
    _end_all_sessions(user)
    db.session.commit()


def sign_up(*, email: str, username: str, password: str) -> User | None:
    """Register from the public form without telling whether the email has an account.

    A taken address gets a mail for its owner instead (sign in, or reset the
    password), and the caller answers as if the account were new. None then.
    """
    username = _valid_username(username)
    _check_available(username=username)
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
    return None


def send_password_reset(email: str) -> None:
    """Mail a reset link when the address has an account; say nothing either way."""
    user = find_user_by_email(email)
    if user is None:
        return
    token = make_token("reset", {"user": str(user.public_id), "pw": _password_fingerprint(user)})
    send_email(
        user.email,
        "Reset your password",
        "auth/email/reset_password",
        user=user,
        url=external_url("auth.password_reset", token=token),
    )


def reset_password(token: str, new_password: str) -> bool:
    payload = read_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    if payload is None:
        return False
    user = db.session.scalar(select(User).where(User.public_id == _uuid(payload.get("user"))))
    if user is None or payload.get("pw") != _password_fingerprint(user):
        return False
    user.password_hash = hash_password(new_password)
    _end_all_sessions(user)
    db.session.commit()
    for login in (user.email, user.username):
        throttle.forget(current_app.config["ACCOUNT_SIGN_IN_LIMIT"], _failed_sign_ins(login))
    return True


# Email changes --------------------------------------------------------------


def request_email_change(user: User, *, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address; the change waits for it.

    An address another account has gets that account's owner a notice
    instead, and the caller answers as if a link were sent: the form tells
    nobody which addresses are registered, as registration does not.
    """
    if not verify_password(user.password_hash, password):
        raise ServiceError("The password is wrong.", field="password")
    new_email = _valid_email(new_email)
    owner = find_user_by_email(new_email)
    if owner is not None and owner is not user:
        send_email(
            owner.email,
            "Someone tried to use your address",
            "auth/email/address_in_use",
            user=owner,
            login_url=external_url("auth.login"),
        )
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
    _check_available(email=new_email, exclude=user)
    old_email, user.email = user.email, new_email
    _end_all_sessions(user)
    _commit_or_conflict()
    send_email(
        old_email,
        "Your email address was changed",
        "auth/email/email_changed",
        user=user,
        new_email=new_email,
        reset_url=external_url("auth.password_reset_request"),
    )
    return True


# Profiles -------------------------------------------------------------------


def update_profile(
    user: User, *, name: str | None, location: str | None, about_me: str | None
) -> None:
    user.name, user.location, user.about_me = name or None, location or None, about_me or None
    db.session.commit()


def admin_update_user(
    user: User,
    *,
    email: str,
    username: str,
    confirmed: bool,
    role_id: int,
    name: str | None,
    location: str | None,
    about_me: str | None,
) -> None:
    """Let an administrator change any account, checking uniqueness like registration."""
    email, username = _valid_email(email), _valid_username(username)
    _check_available(email=email, username=username, exclude=user)
    role = db.session.get(Role, role_id)
    if role is None:
        raise ServiceError("Choose one of the listed roles.", field="role")
    user.email, user.username, user.confirmed, user.role = email, username, confirmed, role
    user.name, user.location, user.about_me = name or None, location or None, about_me or None
    _commit_or_conflict()


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
