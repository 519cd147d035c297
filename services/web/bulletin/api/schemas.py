"""Request and response bodies, named by role (TaskCreate, TaskPublic, ...)."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from marshmallow import fields, validate

from ..core.pagination import MAX_CURSOR_LENGTH, MAX_OFFSET, MAX_PER_PAGE
from ..models.blog import COMMENT_MAX, POST_MAX
from ..models.task import DESCRIPTION_MAX, TITLE_MAX
from ..services.search import MAX_QUERY_LENGTH
from ..web.urls import row_url

# PostgreSQL cannot store NUL in text, so it is refused as bad input. One pattern
# per field (the OpenAPI document keeps only one), written to match in linear time.
no_nul = validate.Regexp(r"^[^\x00]*$", error="Must not contain the NUL character (\\u0000).")
# White space spelled out: Python's \s and JavaScript's (which clients and the
# OpenAPI tools use) differ on a few characters, so the class names them all.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
not_blank = validate.Regexp(
    rf"^[{SPACE}]*[^{SPACE}\x00][^\x00]*$",
    error="Must contain more than white space, and no NUL character.",
)


class StrictBoolean(fields.Boolean):
    """JSON true or false only: "yes" or 1 are type errors, not silently true."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class PageArgs(ma.Schema):
    cursor = fields.String(
        validate=validate.Length(max=MAX_CURSOR_LENGTH),
        metadata={
            "description": "Where the page starts: copy it from a page's links.next or "
            "links.prev. Opaque; without it, the first page."
        },
    )
    page = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "deprecated": True,
            "description": "Old numbered pages, served while they are shallow "
            f"({MAX_OFFSET:,} rows deep at most); follow the links instead.",
        },
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PostListArgs(PageArgs):
    q = fields.String(
        validate=[validate.Length(max=MAX_QUERY_LENGTH), no_nul],
        metadata={
            "description": "Only posts matching this search, best first: words, "
            '"a phrase", `or`, and `-word` to leave one out (PostgreSQL; on SQLite '
            "every word must appear). Empty: every post, newest first."
        },
    )


class TaskListArgs(PageArgs):
    done = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={"description": "Only done (true) or open (false) tasks."},
    )


class Links(ma.Schema):
    self = fields.String(required=True)
    next = fields.String(allow_none=True, required=True)
    prev = fields.String(allow_none=True, required=True)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The schema of one page of ``item_schema`` items."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "per_page": fields.Integer(required=True),
            "links": fields.Nested(Links, required=True),
        },
        name=name,
    )


# Tokens -----------------------------------------------------------------------


class TokenPublic(ma.Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds."})


# Tasks ------------------------------------------------------------------------


class TaskCreate(ma.Schema):
    title = fields.String(
        required=True, validate=[validate.Length(min=1, max=TITLE_MAX), not_blank]
    )
    description = fields.String(
        load_default="", validate=[validate.Length(max=DESCRIPTION_MAX), no_nul]
    )
    done = StrictBoolean(load_default=False)


class TaskReplace(TaskCreate):
    """PUT: the whole task; what is left out takes its default."""


class TaskPatch(ma.Schema):
    """PATCH: only the fields sent change; an empty object changes nothing."""

    title = fields.String(validate=[validate.Length(min=1, max=TITLE_MAX), not_blank])
    description = fields.String(validate=[validate.Length(max=DESCRIPTION_MAX), no_nul])
    done = StrictBoolean()


class TaskPublic(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    done = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    uri = fields.Function(
        lambda task: row_url("api.get_task", "task_id", task.id, external=True), required=True
    )


# Users ------------------------------------------------------------------------


class UserSummary(ma.Schema):
    id = fields.UUID(attribute="public_id", required=True)
    username = fields.String(required=True)
    uri = fields.Function(
        lambda user: row_url("api.get_user", "public_id", user.public_id, external=True),
        required=True,
    )


class UserPublic(UserSummary):
    name = fields.String(allow_none=True, required=True)
    location = fields.String(allow_none=True, required=True)
    about_me = fields.String(allow_none=True, required=True)
    member_since = fields.AwareDateTime(required=True)
    last_seen = fields.AwareDateTime(required=True)
    posts_uri = fields.Function(
        lambda user: url_for("api.get_user_posts", public_id=user.public_id, _external=True),
        required=True,
    )
    timeline_uri = fields.Function(
        lambda user: url_for("api.get_user_timeline", public_id=user.public_id, _external=True),
        required=True,
    )


# Posts and comments -------------------------------------------------------------


class PostWrite(ma.Schema):
    body = fields.String(required=True, validate=[validate.Length(min=1, max=POST_MAX), not_blank])


class PostPublic(ma.Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    body_html = fields.String(required=True)
    timestamp = fields.AwareDateTime(required=True)
    author = fields.Nested(UserSummary, required=True)
    uri = fields.Function(
        lambda post: row_url("api.get_post", "post_id", post.id, external=True), required=True
    )
    comments_uri = fields.Function(
        lambda post: row_url("api.post_comments", "post_id", post.id, external=True), required=True
    )


class CommentWrite(ma.Schema):
    body = fields.String(
        required=True, validate=[validate.Length(min=1, max=COMMENT_MAX), not_blank]
    )


class CommentPublic(ma.Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    body_html = fields.String(required=True)
    timestamp = fields.AwareDateTime(required=True)
    author = fields.Nested(UserSummary, required=True)
    post_uri = fields.Function(
        lambda comment: row_url("api.get_post", "post_id", comment.post_id, external=True),
        required=True,
    )


TaskPage = page_schema(TaskPublic, "TaskPage")
PostPage = page_schema(PostPublic, "PostPage")
CommentPage = page_schema(CommentPublic, "CommentPage")
