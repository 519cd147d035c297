"""Search posts and people without another service.

PostgreSQL: a generated ``tsvector`` column with a GIN index (migration
7a4c2b9e1d63), queried through ``websearch_to_tsquery``, which accepts any
text (quotes, ``or``, ``-word``) without ever raising, ranked by relevance and
then recency; people by ``pg_trgm`` similarity, so typos are forgiven.
SQLite (``make dev``): every word must appear, newest first; people by a
substring. For plain words both find the same posts.

No search may cost more as the table grows. Two plans, chosen per query:

- words rare enough that their GIN posting lists hold at most GIN_BUDGET
  posts (PostgreSQL's own statistics say how many): the index finds every
  match, however old, and reads no more than that;
- common words: the newest RECENT_WINDOW posts are read newest first and
  filtered. A word in most posts fills a page within the first few dozen;
  ``garden -garden`` (which matches nothing) or a phrase of two common words
  reads the window and stops, where it used to read all 1M posts (3.7 s).
  The page says that only recent posts were searched.

A statement timeout (SEARCH_TIMEOUT_MS) backs both, answered with "narrow
your search", never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, and_, false, func, literal_column, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from ..core.pagination import MAX_OFFSET, MAX_PER_PAGE, Listing
from ..extensions import db
from ..models import Post, User
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
# Posts the GIN index may hand over for one search: about 20 ms of reading
# and rechecking at most (a phrase rechecks each candidate row).
GIN_BUDGET = 20_000
# Posts read newest first for common words: about 15 ms at 1M posts.
RECENT_WINDOW = 5_000
# ANALYZE lists every word in more than about 0.1 % of the posts it samples
# and drops the rest, so a word it does not list is at most about this common.
UNLISTED_SHARE = 0.002
NARROW = "This search would take too long: add a rarer word, or remove a common one."
# The query's words, the share of posts holding each word ANALYZE lists, and
# the table's size: what searches_everything weighs.
POSTINGS = text(
    """
    SELECT tsvector_to_array(to_tsvector(CAST(:config AS regconfig), :query)),
           CAST(CAST(s.most_common_elems AS text) AS text[]), s.most_common_elem_freqs,
           c.reltuples
    FROM pg_class AS c
    LEFT JOIN pg_stats AS s
      ON s.schemaname = current_schema() AND s.tablename = 'posts'
     AND s.attname = 'search_vector'
    WHERE c.oid = CAST('posts' AS regclass)
    """
)


def _like(word: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"


def _tsquery(text: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(CONFIG, text)


def searches_everything(query: str) -> bool:
    """Whether the index may find every match (its words are rare, or the
    table is small), or only the newest RECENT_WINDOW posts are read."""
    if not _on_postgresql():
        return True
    lexemes, elements, freqs, rows = db.session.execute(
        POSTINGS, {"config": CONFIG, "query": query}
    ).one()
    if 0 <= rows <= GIN_BUDGET:
        return True
    if not elements:  # never analyzed: nothing says how common the words are
        return False
    share = dict(zip(elements, freqs, strict=False))
    # After one share per word comes the smallest of them.
    unlisted = min(freqs[len(elements)], UNLISTED_SHARE)
    postings = sum(float(share.get(lexeme, unlisted)) for lexeme in lexemes) * rows
    return bool(postings <= GIN_BUDGET)


def prepare(query: str) -> bool:
    """Bound this transaction's search: a statement timeout (SEARCH_TIMEOUT_MS),
    and the plan for ``query``. True when every match may be found (rare
    words), False when only the newest RECENT_WINDOW posts are read."""
    if not _on_postgresql():
        return True
    timeout = int(current_app.config["SEARCH_TIMEOUT_MS"])
    db.session.execute(text(f"SET LOCAL statement_timeout = {timeout}"))
    everything = searches_everything(query)
    if everything:
        # The statistics say the index hands over little. A sequential scan
        # (the planner's choice on a small table, or on a guess) is what
        # made a search cost more as the table grew: never for this search.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
    return everything


def too_slow(error: DBAPIError) -> bool:
    """A statement cancelled by the timeout prepare set."""
    return getattr(error.orig, "pgcode", None) == "57014"  # query_canceled


def posts(text: str, *, everything: bool = True, cards: bool = False) -> Listing:
    """Posts that match ``text``, best first. Ranked, so paged by a short offset.

    Only the newest RANKED matches are ranked: words in half the posts
    would otherwise rank half a million rows on every search (0.7 s at 1M).
    Unless ``everything`` (searches_everything), only the newest
    RECENT_WINDOW posts are looked at. With ``cards``, rows of what the
    results page shows (SEARCH_CARD and the snippet, see ``snippets``)
    instead of Post entities: no second query for the snippets.
    """
    statement = _shown(text, cards)
    if _on_postgresql():
        query = _tsquery(text)
        vector: ColumnElement[Any] = literal_column("posts.search_vector")
        if everything:
            # Materialized, so the planner cannot turn it back into the
            # walk of the time index that filters every row.
            matches = select(Post.id, Post.timestamp).where(vector.op("@@")(query)).cte("matches")
            matches = matches.prefix_with("MATERIALIZED", dialect="postgresql")
            newest = (
                select(matches.c.id)
                .order_by(matches.c.timestamp.desc(), matches.c.id.desc())
                .limit(RANKED)
                .scalar_subquery()
            )
            scored = select(Post.id, Post.timestamp, vector.label("vector")).where(
                Post.id.in_(newest)
            )
        else:
            recent = (
                select(Post.id, Post.timestamp, vector.label("vector"))
                .order_by(Post.timestamp.desc(), Post.id.desc())
                .limit(RECENT_WINDOW)
                .subquery("recent")
            )
            scored = (
                select(recent.c.id, recent.c.timestamp, recent.c.vector)
                .where(recent.c.vector.op("@@")(query))
                .order_by(recent.c.timestamp.desc(), recent.c.id.desc())
                .limit(RANKED)
            )
        return Listing(_best_first(statement, scored.subquery("scored"), query), rows=cards)
    words = _words(text)
    contains = [Post.body.ilike(_like(word), escape="\\") for word in words]
    return Listing(
        statement.where(and_(*contains) if contains else false()).order_by(
            Post.timestamp.desc(), Post.id.desc()
        ),
        rows=cards,
    )


# What a result shows beside its snippet: no entity to build per row.
SEARCH_CARD = (Post.id, Post.timestamp, User.username.label("author_username"))


def _shown(text: str, cards: bool) -> Any:
    if not cards:
        return select(Post).options(joinedload(Post.author))
    # The matches marked by PostgreSQL, computed for the page's rows only
    # (ts_headline is costly, so the planner computes it after the LIMIT);
    # SQLite's are marked from the text (_mark_words).
    snippet = (
        func.ts_headline(CONFIG, Post.body, _tsquery(text), HEADLINE)
        if _on_postgresql()
        else Post.body
    )
    return select(*SEARCH_CARD, snippet.label("snippet")).join(Post.author)


def _best_first(statement: Any, scored: Any, query: ColumnElement[Any]) -> Any:
    """``statement``'s posts among ``scored`` (id, timestamp, vector), by rank.

    Ranked and sorted before the posts are joined (the OFFSET 0 keeps the
    planner from merging the two), so only the page's posts are read whole
    and joined to their authors, not every ranked match: 21 ms -> 10 ms at
    1M posts for two common words.
    """
    rank = func.ts_rank_cd(scored.c.vector, query)
    order = (rank.desc(), scored.c.timestamp.desc(), scored.c.id.desc())
    ranked = (
        select(scored.c.id, scored.c.timestamp, rank.label("rank"))
        .order_by(*order)
        .offset(0)
        .subquery("ranked")
    )
    return statement.join(ranked, ranked.c.id == Post.id).order_by(
        ranked.c.rank.desc(), ranked.c.timestamp.desc(), ranked.c.id.desc()
    )


def snippets(found: list[Any], text: str) -> dict[int, Markup]:
    """For each card shown (``posts(cards=True)``), the part of its text that
    matched, matches in <mark>."""
    words = _words(text)
    marked = _on_postgresql()
    # Escaped first: only the markers become tags.
    return {
        card.id: escape(card.snippet if marked else _mark_words(card.snippet, words))
        .replace(START, MARK)
        .replace(STOP, UNMARK)
        for card in found
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
