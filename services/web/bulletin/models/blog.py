"""The blog: posts and the comments on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..core.markup import render_markdown
from ..extensions import Model
from .types import UTCDateTime, utcnow
from .user import User

# Longest bodies, in characters; the forms and the API schemas check them.
POST_MAX = 10_000
COMMENT_MAX = 2_000


class Post(Model):
    __tablename__ = "posts"
    __table_args__ = (
        # The feeds' order, which their pages follow (bulletin.core.pagination):
        # every post, and one author's (profiles, the followed feed).
        Index("ix_posts_timestamp_id", "timestamp", "id"),
        Index("ix_posts_author_id_timestamp_id", "author_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    # Rendered once on save, not on every page view.
    body_html: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship()

    @property
    def author_username(self) -> str:
        """As a feed's rows name it (services/blog.py POST_CARD)."""
        return self.author.username

    @validates("body")
    def _render_body(self, _key: str, value: str) -> str:
        self.body_html = render_markdown(value)
        return value


# Search's schema on PostgreSQL only (migration 7a4c2b9e1d63): no model maps
# them, so comparing models and database leaves them out.
POSTGRESQL_SEARCH_SCHEMA = frozenset(
    {"search_vector", "ix_posts_search_vector", "ix_users_username_trgm"}
)


def compared_with_models(
    _object: object, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    """Alembic's include_object: everything but the search schema and the job queue's.

    procrastinate's tables are made by its own SQL (migration c4e8a1f3b702),
    not from models.
    """
    if reflected and type_ == "table" and (name or "").startswith("procrastinate_"):
        return False
    return not (reflected and type_ in {"column", "index"} and name in POSTGRESQL_SEARCH_SCHEMA)


class Comment(Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Moderation's list, and one post's comments: the order their pages follow.
        Index("ix_comments_timestamp_id", "timestamp", "id"),
        Index("ix_comments_post_id_timestamp_id", "post_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship()
    post: Mapped[Post] = relationship()

    @validates("body")
    def _render_body(self, _key: str, value: str) -> str:
        self.body_html = render_markdown(value)
        return value
