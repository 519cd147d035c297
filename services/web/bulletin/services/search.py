"""Search posts and people without another service.

PostgreSQL: a generated ``tsvector`` column with a GIN index (migration
7a4c2b9e1d63), queried through ``websearch_to_tsquery``, which accepts any
text (quotes, ``or``, ``-word``) without ever raising, ranked by relevance and
then recency; people by ``pg_trgm`` similarity, so typos are forgiven.
SQLite (``make dev``): every word must appear, newest first; people by a
substring. For plain words both find the same posts.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, and_, false, func, literal_column, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Post, User
from ..pagination import MAX_OFFSET, MAX_PER_PAGE, Listing
from . import ServiceError

MAX_QUERY_LENGTH = 200
CONFIG = "english"  # the text search configuration: stemming and stop words
PEOPLE_SHOWN = 5
# ts_headline marks matches with these; the text is escaped before they
# become <mark>, so a post can never put HTML into a snippet.
START, STOP = "\x02", "\x03"
HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=2"
SNIPPET_LENGTH = 240
MARK, UNMARK = Markup("<mark>"), Markup("</mark>")


def checked_query(text: str | None) -> str:
    """The query trimmed; one too long is refused with what to do."""
    text = (text or "").strip()
    if "\x00" in text:  # PostgreSQL cannot hold it in text
        raise ServiceError("Remove the NUL character (\\0) from the search.", field="q")
    if len(text) > MAX_QUERY_LENGTH:
        raise ServiceError(
            f"Search for at most {MAX_QUERY_LENGTH} characters (this was {len(text)}).",
            field="q",
        )
    return text


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _words(text: str) -> list[str]:
    return [word.lower() for word in re.findall(r"\w+", text)]


# Matches ranked per search: the newest this many, as deep as paging reaches.
RANKED = MAX_OFFSET + MAX_PER_PAGE


def _like(word: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"


def _tsquery(text: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(CONFIG, text)


def posts(text: str) -> Listing:
    """Posts that match ``text``, best first. Ranked, so paged by a short offset.

    Only the newest RANKED matches are ranked: words in half the posts
    would otherwise rank half a million rows on every search (0.7 s at 1M).
    """
    statement = select(Post).options(joinedload(Post.author))
    if _on_postgresql():
        query = _tsquery(text)
        vector: ColumnElement[Any] = literal_column("posts.search_vector")
        newest = (
            select(Post.id)
            .where(vector.op("@@")(query))
            .order_by(Post.timestamp.desc(), Post.id.desc())
            .limit(RANKED)
        )
        return Listing(
            statement.where(Post.id.in_(newest.scalar_subquery())).order_by(
                func.ts_rank_cd(vector, query).desc(), Post.timestamp.desc(), Post.id.desc()
            )
        )
    words = _words(text)
    matches = [Post.body.ilike(_like(word), escape="\\") for word in words]
    return Listing(
        statement.where(and_(*matches) if matches else false()).order_by(
            Post.timestamp.desc(), Post.id.desc()
        )
    )


def snippets(found: list[Post], text: str) -> dict[int, Markup]:
    """For each post shown, the part of its text that matched, matches in <mark>."""
    if not found:
        return {}
    if _on_postgresql():
        rows = db.session.execute(
            select(Post.id, func.ts_headline(CONFIG, Post.body, _tsquery(text), HEADLINE)).where(
                Post.id.in_([post.id for post in found])
            )
        )
        marked = {post_id: snippet for post_id, snippet in rows}
    else:
        marked = {post.id: _mark_words(post.body, _words(text)) for post in found}
    # Escaped first: only the markers become tags.
    return {
        post_id: escape(snippet).replace(START, MARK).replace(STOP, UNMARK)
        for post_id, snippet in marked.items()
    }


def _mark_words(body: str, words: list[str]) -> str:
    """SQLite's snippet: the text around the first match, every word marked."""
    if not words:
        return body[:SNIPPET_LENGTH]
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(body)
    start = max(0, (first.start() if first else 0) - SNIPPET_LENGTH // 3)
    excerpt = body[start : start + SNIPPET_LENGTH]
    return pattern.sub(lambda match: f"{START}{match.group(0)}{STOP}", excerpt)


def people(text: str) -> list[User]:
    """Usernames like ``text``, closest first; a typo or two is forgiven on PostgreSQL."""
    words = _words(text)
    if not words:
        return []
    name = func.lower(User.username)
    wanted = " ".join(words)
    if _on_postgresql():
        statement = (
            select(User)
            .where(or_(name.op("%")(wanted), name.like(_like(wanted)[1:], escape="\\")))
            .order_by(func.similarity(name, wanted).desc(), User.username)
        )
    else:
        statement = (
            select(User)
            .where(or_(*[name.like(_like(word), escape="\\") for word in words]))
            .order_by(User.username)
        )
    return list(db.session.scalars(statement.limit(PEOPLE_SHOWN)))
