"""Login sessions: one row per signed-in browser, so a session can end
without its cookie (sign-out everywhere, a new password)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, not_, or_, select, update

from ...extensions import db
from ...models import LoginSession, User, utcnow

LAST_SEEN_INTERVAL = timedelta(minutes=1)


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


def end_all_sessions(user: User) -> None:
    """Sign out every browser and revoke every API token of ``user``."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    user.token_version += 1


def touch_last_seen(user: User) -> None:
    """Record activity, at most once a minute so most requests write nothing."""
    now = utcnow()
    if user.last_seen is None or now - user.last_seen >= LAST_SEEN_INTERVAL:
        user.last_seen = now
        db.session.commit()
