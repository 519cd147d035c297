"""Posts and their comments."""

from __future__ import annotations

from flask import url_for

from ..errors import api_error
from ..extensions import db, search_limit
from ..models import Permission, Post
from ..services import blog, search
from .auth import api_bearer, api_user, require_permission, token_required, write_limit
from .blueprint import bp
from .paging import page_of
from .schemas import (
    CommentPage,
    CommentPublic,
    CommentWrite,
    PageArgs,
    PostListArgs,
    PostPage,
    PostPublic,
    PostWrite,
)


def _post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        raise api_error(404, f"There is no post {post_id}.")
    return post


@bp.get("/posts")
@token_required
@bp.arguments(PostListArgs, location="query", as_kwargs=True)
@bp.response(200, PostPage)
@search_limit
def list_posts(**args):
    """List every post, newest first, or those matching ``q``, best first.

    A search of common words looks at the newest posts only (see
    bulletin/services/search.py); rare words find every match.
    """
    text = search.checked_query(args.get("q"))
    if not text:
        return page_of(blog.all_posts(), args, "api.list_posts")
    listing = search.posts(text, everything=search.prepare(text))
    return page_of(listing, args, "api.list_posts")


@bp.post("/posts")
@token_required
@write_limit
@bp.arguments(PostWrite)
@bp.response(201, PostPublic, headers={"Location": {"schema": {"type": "string"}}})
def create_post(data):
    """Publish a post (WRITE permission)."""
    require_permission(Permission.WRITE)
    post = blog.create_post(author=api_user(), body=data["body"])
    return post, 201, {"Location": url_for("api.get_post", post_id=post.id, _external=True)}


@bp.get("/posts/<id:post_id>")
@token_required
@bp.response(200, PostPublic)
def get_post(post_id: int):
    """Show one post."""
    return _post_or_404(post_id)


@bp.put("/posts/<id:post_id>")
@token_required
@write_limit
@bp.arguments(PostWrite)
@bp.response(200, PostPublic)
def update_post(data, post_id: int):
    """Rewrite a post (its author or an administrator)."""
    post = _post_or_404(post_id)
    blog.update_post(post, editor=api_user(), body=data["body"])
    return post


@bp.get("/posts/<id:post_id>/comments")
@token_required
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, CommentPage)
def post_comments(post_id: int, **args):
    """List a post's comments, oldest first (moderators also see hidden ones)."""
    post = _post_or_404(post_id)
    moderator = api_bearer().can(Permission.MODERATE)
    return page_of(
        blog.visible_comments(post, moderator=moderator), args, "api.post_comments", post_id=post_id
    )


@bp.post("/posts/<id:post_id>/comments")
@token_required
@write_limit
@bp.arguments(CommentWrite)
@bp.response(201, CommentPublic)
def create_comment(data, post_id: int):
    """Comment on a post (COMMENT permission)."""
    require_permission(Permission.COMMENT)
    return blog.add_comment(post=_post_or_404(post_id), author=api_user(), body=data["body"])
