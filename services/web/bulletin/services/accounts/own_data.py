"""A person's own data: an export to download once, and the account's deletion.

Both are asked for in a request and done by a job (bulletin/jobs/accounts.py):
an export may read thousands of rows, a deletion remove them. The request
does what must hold at once: a deleted account's sessions and API tokens end,
and its email and username are free for a new account, before the job runs.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select

from ... import jobs
from ...core.mail import external_url, send_email
from ...core.passwords import verify_password
from ...core.signing import make_token, read_token
from ...extensions import db
from ...models import (
    Comment,
    DataExport,
    Follow,
    LoginSession,
    Passkey,
    Post,
    RecoveryCode,
    Task,
    TotpFactor,
    User,
    utcnow,
)
from .. import ServiceError
from .sessions import end_all_sessions

# What a deleted account's password hash becomes: no password matches it.
NO_PASSWORD = "!deleted"  # noqa: S105  (not a password: argon2 refuses it as a hash)


def request_export(owner: User, *, requested_by: User) -> None:
    """Queue the export of ``owner``'s data; its link is mailed to ``requested_by``."""
    jobs.enqueue("accounts.build_export", owner_id=owner.id, requester_id=requested_by.id)
    db.session.commit()


def build_export(owner_id: int, requester_id: int) -> None:
    """The job: the zip stored, and its single-use link mailed, in one commit."""
    owner, requester = db.session.get(User, owner_id), db.session.get(User, requester_id)
    if owner is None or requester is None:
        return  # deleted since it was asked for: nothing to send, nobody to send it to
    max_age = current_app.config["EXPORT_LINK_MAX_AGE"]
    export = DataExport(
        id=uuid.uuid4(),
        owner_id=owner.id,
        requester_id=requester.id,
        expires_at=utcnow() + timedelta(seconds=max_age),
        content=export_zip(owner),
    )
    db.session.add(export)
    token = make_token("export", {"export": str(export.id), "user": str(requester.public_id)})
    send_email(
        requester.email,
        "Your data export is ready" if owner is requester else f"The export of {owner.username}",
        "auth/email/export_ready",
        user=requester,
        owner=owner,
        hours=max_age // 3600,
        url=external_url("auth.download_export", token=token),
    )
    db.session.commit()


def export_zip(owner: User) -> bytes:
    """Everything ``owner`` wrote, as JSON files in a zip."""
    files = {
        "profile.json": {
            "username": owner.username,
            "email": owner.email,
            "name": owner.name,
            "location": owner.location,
            "about_me": owner.about_me,
            "member_since": owner.member_since.isoformat(),
            "last_seen": owner.last_seen.isoformat(),
            "following": list(
                db.session.scalars(
                    select(User.username)
                    .join(Follow, Follow.followed_id == User.id)
                    .where(Follow.follower_id == owner.id)
                    .order_by(User.username)
                )
            ),
        },
        "posts.json": [
            {"id": post.id, "body": post.body, "timestamp": post.timestamp.isoformat()}
            for post in db.session.scalars(
                select(Post).where(Post.author_id == owner.id).order_by(Post.id)
            )
        ],
        "comments.json": [
            {
                "id": comment.id,
                "post_id": comment.post_id,
                "body": comment.body,
                "timestamp": comment.timestamp.isoformat(),
                "hidden_by_moderator": comment.disabled,
            }
            for comment in db.session.scalars(
                select(Comment).where(Comment.author_id == owner.id).order_by(Comment.id)
            )
        ],
        "tasks.json": [
            {
                "id": task.id,
                "title": task.title,
                "description": task.description,
                "done": task.done,
                "created_at": task.created_at.isoformat(),
                "updated_at": task.updated_at.isoformat(),
            }
            for task in db.session.scalars(
                select(Task).where(Task.owner_id == owner.id).order_by(Task.id)
            )
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, json.dumps(content, indent=2, ensure_ascii=False))
    return buffer.getvalue()


def pending_export(user: User, token: str) -> DataExport | None:
    """The export a link names, while ``user`` (who asked for it) may still download it."""
    payload = read_token("export", token, current_app.config["EXPORT_LINK_MAX_AGE"])
    if payload is None or payload.get("user") != str(user.public_id):
        return None
    try:
        export_id = uuid.UUID(str(payload.get("export")))
    except ValueError:
        return None
    export = db.session.get(DataExport, export_id)
    if export is None or export.content is None or export.expires_at <= utcnow():
        return None
    return export


def take_export(user: User, token: str) -> tuple[str, bytes] | None:
    """The zip's file name and bytes, once: the row is emptied as it is read."""
    export = pending_export(user, token)
    if export is None:
        return None
    # Locked, so two clicks at once cannot both get it.
    db.session.refresh(export, with_for_update=True)
    if export.content is None:
        db.session.rollback()
        return None
    content, export.content, export.downloaded_at = export.content, None, utcnow()
    owner = db.session.get(User, export.owner_id)
    db.session.commit()
    name = owner.username if owner else "account"
    return f"bulletin-{name}-{export.created_at:%Y%m%d}.zip", content


def delete_account(user: User, *, password: str, checked_by: User | None = None) -> None:
    """Delete ``user``'s account: at once for sign-in, in a job for the data.

    ``password`` is the user's own, or ``checked_by``'s when an administrator
    deletes someone else's account.
    """
    checker = checked_by or user
    if not verify_password(checker.password_hash, password):
        raise ServiceError("The password is wrong.", field="password")
    end_all_sessions(user)
    # Free at once for a new account; the row itself goes with the job.
    user.email = f"deleted-{user.public_id.hex}@deleted.invalid"
    user.username = f"deleted_{user.public_id.hex[:16]}"
    user.password_hash = NO_PASSWORD
    user.confirmed = False
    jobs.enqueue("accounts.erase", user_id=user.id)
    db.session.commit()


def erase_account(user_id: int) -> dict[str, Any]:
    """The job: every row the account owns, then the account; how many of each."""
    owned_posts = select(Post.id).where(Post.author_id == user_id)
    removed = {
        # Comments on the account's posts go with the posts, whoever wrote them.
        "comments": db.session.execute(
            delete(Comment).where(
                or_(Comment.author_id == user_id, Comment.post_id.in_(owned_posts))
            )
        ).rowcount,  # type: ignore[attr-defined]
        "posts": db.session.execute(delete(Post).where(Post.author_id == user_id)).rowcount,  # type: ignore[attr-defined]
        "tasks": db.session.execute(delete(Task).where(Task.owner_id == user_id)).rowcount,  # type: ignore[attr-defined]
        "follows": db.session.execute(
            delete(Follow).where(or_(Follow.follower_id == user_id, Follow.followed_id == user_id))
        ).rowcount,  # type: ignore[attr-defined]
    }
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    for factor in (TotpFactor, RecoveryCode, Passkey):
        db.session.execute(delete(factor).where(factor.user_id == user_id))
    db.session.execute(
        delete(DataExport).where(
            or_(DataExport.owner_id == user_id, DataExport.requester_id == user_id)
        )
    )
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    return removed
