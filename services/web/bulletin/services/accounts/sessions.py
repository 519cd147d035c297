"""Login sessions: one row per signed-in browser, so a session can end
without its cookie (sign-out everywhere, a new password)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, not_, or_, select, update

from ...extensions import db
from ...models import LoginSession, User, utcnow

LAST_SEEN_INTERVAL = timedelta(minutes=1)


# Sessions past their lifetime, or idle too long without "remember me", as of
# the moments _cutoffs() gives. They are bound when a statement runs, so each
# statement is built once: building one costs more than running it.
EXPIRED = or_(
    LoginSession.created_at < bindparam("born_before"),
    and_(
        LoginSession.remember.is_(False),
        LoginSession.last_seen_at < bindparam("idle_since"),
    ),
)
# The user of a live session, read on every signed-in request.
LIVE_SESSION = (
    select(User, LoginSession.last_seen_at)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(LoginSession.id == bindparam("session_id"), not_(EXPIRED))
)


def _cutoffs() -> dict[str, datetime]:
    config = current_app.config
    now = utcnow()
    return {
        "born_before": now - config["REMEMBER_COOKIE_DURATION"],
        "idle_since": now - config["SESSION_IDLE_TIMEOUT"],
    }


def start_login_session(user: User, *, remember: bool = False) -> str:
    """Record a new signed-in browser for ``user``; its id goes in the cookies."""
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, EXPIRED), _cutoffs()
    )
    session_id = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=session_id, user_id=user.id, remember=remember))
    db.session.commit()
    user.login_session_id = session_id
    return session_id


def load_login_session(session_id: str) -> User | None:
    """The user of a live session; an expired one is refused (and pruned later)."""
    row = db.session.execute(LIVE_SESSION, {"session_id": session_id, **_cutoffs()}).first()
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
    result = db.session.execute(delete(LoginSession).where(EXPIRED), _cutoffs())
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
