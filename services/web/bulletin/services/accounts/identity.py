"""Who is who: finding an account, and the checks every new name or address
passes (valid by its rule, not taken by another account)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...core.email_addresses import checked_email
from ...core.usernames import checked_username
from ...extensions import db
from ...models import User
from ...models.user import normalize_email
from .. import Conflict, ServiceError


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def find_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def find_user_by_login(login: str) -> User | None:
    """Look a user up by email or by username, as the API's Basic auth allows."""
    if "@" in login:
        return find_user_by_email(login)
    return find_user_by_username(login)


def check_available(
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


def commit_or_conflict() -> None:
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


def valid_email(email: str) -> str:
    return _by_rule(checked_email, email, field="email")


def valid_username(username: str) -> str:
    return _by_rule(checked_username, username, field="username")


def find_user_by_public_id(value: object) -> User | None:
    """The user a token names by public id; None for anything that is not one."""
    try:
        public_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return db.session.scalar(select(User).where(User.public_id == public_id))
