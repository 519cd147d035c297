"""Users, addressed only by their public id, with their posts and timelines."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from ..errors import api_error
from ..extensions import db
from ..models import User
from ..services import blog
from .auth import token_required
from .blueprint import bp
from .paging import page_of
from .schemas import PageArgs, PostPage, UserPublic


def _user_or_404(public_id: uuid.UUID) -> User:
    user = db.session.scalar(select(User).where(User.public_id == public_id))
    if user is None:
        raise api_error(404, f"There is no user {public_id}.")
    return user


@bp.get("/users/<uuid:public_id>")
@token_required
@bp.response(200, UserPublic)
def get_user(public_id: uuid.UUID):
    """Show a user's profile."""
    return _user_or_404(public_id)


@bp.get("/users/<uuid:public_id>/posts")
@token_required
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, PostPage)
def get_user_posts(public_id: uuid.UUID, **args):
    """List a user's posts, newest first."""
    user = _user_or_404(public_id)
    return page_of(blog.posts_by(user), args, "api.get_user_posts", public_id=public_id)


@bp.get("/users/<uuid:public_id>/timeline")
@token_required
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, PostPage)
def get_user_timeline(public_id: uuid.UUID, **args):
    """List the posts of the authors a user follows, and the user's own, newest first."""
    user = _user_or_404(public_id)
    return page_of(blog.followed_posts(user), args, "api.get_user_timeline", public_id=public_id)
