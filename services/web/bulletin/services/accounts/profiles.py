"""What a profile says, changed by its owner or by an administrator."""

from __future__ import annotations

from ...extensions import db
from ...models import Role, User
from .. import ServiceError
from .identity import check_available, commit_or_conflict, valid_email, valid_username


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
    email, username = valid_email(email), valid_username(username)
    check_available(email=email, username=username, exclude=user)
    role = db.session.get(Role, role_id)
    if role is None:
        raise ServiceError("Choose one of the listed roles.", field="role")
    user.email, user.username, user.confirmed, user.role = email, username, confirmed, role
    user.name, user.location, user.about_me = name or None, location or None, about_me or None
    commit_or_conflict()
