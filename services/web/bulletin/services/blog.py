"""The blog's rules: posts, comments, follows and the feeds built from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from markupsafe import escape
from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.orm import joinedload

from ..core.markup import TooDeeplyNested, render_markdown
from ..core.pagination import Listing
from ..extensions import db
from ..models import Comment, Follow, Permission, Post, User
from . import Forbidden, ServiceError

# Feeds ----------------------------------------------------------------------
# Each feed is a Listing: its query and the keys its pages follow (time, then
# id), which an index of the same columns serves at any depth.


# What a feed page shows of each post (macros/posts.html): a page lists these
# columns as rows, which cost a fraction of what loading Post and User
# entities costs; the API, which dumps whole posts, lists the entities.
POST_CARD = (Post.id, Post.timestamp, Post.body_html, User.username.label("author_username"))


def _posts(*conditions: ColumnElement[bool], cards: bool) -> Listing:
    # Authors come in the same query, not one query per post.
    statement: Select[Any] = (
        select(*POST_CARD).join(Post.author)
        if cards
        else select(Post).options(joinedload(Post.author))
    )
    return Listing(statement.where(*conditions), keys=(Post.timestamp, Post.id), rows=cards)


@cache  # one for the process: its statements are built once (Listing.offset_pages)
def all_posts(*, cards: bool = False) -> Listing:
    return _posts(cards=cards)


def followed_posts(user: User, *, cards: bool = False) -> Listing:
    """Posts by the authors ``user`` follows, and by ``user``."""
    followed = select(Follow.followed_id).where(Follow.follower_id == user.id)
    return _posts((Post.author_id.in_(followed)) | (Post.author_id == user.id), cards=cards)


def posts_by(user: User, *, cards: bool = False) -> Listing:
    return _posts(Post.author_id == user.id, cards=cards)


def visible_comments(post: Post, *, moderator: bool) -> Listing:
    """A post's comments, oldest first; moderators also see the disabled ones."""
    statement = (
        select(Comment).options(joinedload(Comment.author)).where(Comment.post_id == post.id)
    )
    if not moderator:
        statement = statement.where(Comment.disabled.is_(False))
    return Listing(statement, keys=(Comment.timestamp, Comment.id), descending=False)


def all_comments() -> Listing:
    return Listing(
        select(Comment).options(joinedload(Comment.author)),
        keys=(Comment.timestamp, Comment.id),
    )


# Posts and comments ----------------------------------------------------------


@contextmanager
def _rendering() -> Iterator[None]:
    """A body is rendered when it is set; one the renderer refuses breaks a rule."""
    try:
        yield
    except TooDeeplyNested as error:
        raise ServiceError(str(error), field="body") from None


def create_post(*, author: User, body: str) -> Post:
    if not author.can(Permission.WRITE):
        raise Forbidden("You may not write posts.")
    with _rendering():
        post = Post(author=author, body=body)
    db.session.add(post)
    db.session.commit()
    return post


def may_edit(user: User, post: Post) -> bool:
    return post.author_id == user.id or user.is_administrator


def update_post(post: Post, *, editor: User, body: str) -> None:
    if not may_edit(editor, post):
        raise Forbidden("Only the author or an administrator may edit this post.")
    with _rendering():
        post.body = body
    db.session.commit()


def add_comment(*, post: Post, author: User, body: str) -> Comment:
    if not author.can(Permission.COMMENT):
        raise Forbidden("You may not comment.")
    with _rendering():
        comment = Comment(post=post, author=author, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment


# Stored bodies are rendered again when the renderer changes (flask rerender).
RERENDER_CHUNK = 1_000


def _stored_html(body: str) -> str:
    """The body as HTML; one stored before the nesting rule shows as plain text."""
    try:
        return render_markdown(body)
    except TooDeeplyNested:
        return f"<p>{escape(body)}</p>"


def rerender(model: type[Post] | type[Comment]) -> Iterator[tuple[int, int]]:
    """Render every stored body again, writing only those whose HTML changed.

    Reads by id in chunks, one commit per chunk, so a million rows never sit
    in memory and an interrupted run keeps what it did. Yields (rows read,
    rows changed) after each chunk, for a progress bar.
    """
    last_id, read, changed = 0, 0, 0
    while True:
        rows = db.session.execute(
            select(model.id, model.body, model.body_html)
            .where(model.id > last_id)
            .order_by(model.id)
            .limit(RERENDER_CHUNK)
        ).all()
        if not rows:
            return
        for row_id, body, stored in rows:
            html = _stored_html(body)
            if html != stored:
                db.session.execute(update(model).where(model.id == row_id).values(body_html=html))
                changed += 1
        db.session.commit()
        last_id, read = rows[-1][0], read + len(rows)
        yield read, changed


def comment_count(post: Post) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.post_id == post.id, Comment.disabled.is_(False))
        )
        or 0
    )


def set_comment_disabled(comment: Comment, disabled: bool) -> None:
    comment.disabled = disabled
    db.session.commit()


# Follows --------------------------------------------------------------------


def is_following(follower: User, followed: User) -> bool:
    return db.session.get(Follow, (follower.id, followed.id)) is not None


def follow(follower: User, followed: User) -> bool:
    """Follow ``followed``; False when already following."""
    if follower.id == followed.id:
        raise ServiceError("You cannot follow yourself.")
    if is_following(follower, followed):
        return False
    db.session.add(Follow(follower_id=follower.id, followed_id=followed.id))
    db.session.commit()
    return True


def unfollow(follower: User, followed: User) -> bool:
    """Stop following ``followed``; False when not following."""
    result = db.session.execute(
        delete(Follow).where(Follow.follower_id == follower.id, Follow.followed_id == followed.id)
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DELETE gives a CursorResult


def follow_counts(user: User) -> tuple[int, int]:
    """How many follow ``user``, and how many ``user`` follows."""
    followers = db.session.scalar(
        select(func.count()).select_from(Follow).where(Follow.followed_id == user.id)
    )
    following = db.session.scalar(
        select(func.count()).select_from(Follow).where(Follow.follower_id == user.id)
    )
    return followers or 0, following or 0


def followers_of(user: User) -> Listing:
    return Listing(
        select(Follow).options(joinedload(Follow.follower)).where(Follow.followed_id == user.id),
        keys=(Follow.timestamp, Follow.follower_id),
    )


def followed_by(user: User) -> Listing:
    return Listing(
        select(Follow).options(joinedload(Follow.followed)).where(Follow.follower_id == user.id),
        keys=(Follow.timestamp, Follow.followed_id),
    )
