"""Keyset pagination: every page costs the same, however deep.

A list is ordered by columns that are unique together (time, then id), and a
page asks for the rows past the last one shown, which an index on those
columns finds at once. OFFSET would make the database walk every row before
the page: 500,000 posts deep that took 600 times as long as the first page.

The position travels in an opaque cursor. It holds only the key of a row, so
a made-up cursor moves a reader within their own list and no further: what a
reader may see is decided by the list's query, never by the cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Integer, Select, bindparam, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.exceptions import NotFound

from ..extensions import db

T = TypeVar("T")
# Rows an OFFSET may skip: about as cheap as the page itself. It bounds the
# old numbered links (?page=N) and the ranked search lists, which have no key.
MAX_OFFSET = 1_000
# The most rows a page may ask for (the API's per_page).
MAX_PER_PAGE = 100
MAX_CURSOR_LENGTH = 200
# A cursor that does not decode names no page: 404, like a page past the end.
DAMAGED = "This page link is damaged or incomplete; start again from the first page."


@dataclass(frozen=True)
class Listing:
    """A query and the order its pages follow.

    ``keys`` are columns unique together, all sorted one way; a ranked list
    (search) has none and pages by a short offset instead. A page's items
    are the statement's entities, or with ``rows`` its rows of columns
    (which must include the keys).
    """

    statement: Select[Any]
    keys: tuple[InstrumentedAttribute[Any], ...] = ()
    descending: bool = True
    rows: bool = False

    @cached_property
    def offset_pages(self) -> Select[Any]:
        """The list in order, LIMIT and OFFSET bound when it runs: built once
        for a listing kept (``blog.all_posts``), so SQLAlchemy's cache key is
        worked out once too, which costs more than the query on a feed page."""
        return (
            self.ordered()
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer))
        )

    def ordered(self, *, reverse: bool = False) -> Select[Any]:
        if not self.keys:
            return self.statement
        descending = self.descending != reverse
        return self.statement.order_by(
            *(key.desc() if descending else key.asc() for key in self.keys)
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    per_page: int
    next_cursor: str | None  # the rows after this page (older, in a newest-first feed)
    prev_cursor: str | None  # the rows before it; None on the first page

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def encode_cursor(position: dict[str, Any]) -> str:
    """``{"after": [key values]}``, ``{"before": [...]}`` or ``{"offset": n}`` as a token."""
    raw = json.dumps(position, separators=(",", ":"), default=datetime.isoformat)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise NotFound(DAMAGED)
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound(DAMAGED) from None
    if not isinstance(position, dict) or len(position) != 1:
        raise NotFound(DAMAGED)
    return position


def _key_values(listing: Listing, values: object) -> list[Any]:
    """The cursor's values, each checked against its column's type."""
    if not isinstance(values, list) or len(values) != len(listing.keys):
        raise NotFound(DAMAGED)
    checked: list[Any] = []
    for key, value in zip(listing.keys, values, strict=True):
        kind = getattr(key.type, "impl", key.type).python_type  # through UTCDateTime
        if kind is datetime and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise NotFound(DAMAGED) from None
            if moment.tzinfo is None:
                raise NotFound(DAMAGED)
            try:  # a moment near year 1 or 9999 may not exist in UTC
                checked.append(moment.astimezone(UTC))
            except (OverflowError, ValueError):
                raise NotFound(DAMAGED) from None
        elif kind is int and type(value) is int and _fits(key, value):
            checked.append(value)
        else:
            raise NotFound(DAMAGED)
    return checked


def _fits(key: InstrumentedAttribute[Any], value: int) -> bool:
    """Whether the column can hold ``value``: INTEGER is 32 bits on PostgreSQL."""
    bits = 64 if isinstance(key.type, BigInteger) else 32
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def _key_of(listing: Listing, item: Any) -> list[Any]:
    return [getattr(item, key.key) for key in listing.keys]


def _fetch(
    listing: Listing, statement: Select[Any], values: dict[str, Any] | None = None
) -> list[Any]:
    if listing.rows:
        # Rows need none of the ORM's work for entities: on the session's own
        # connection (its transaction, if any) they cost two thirds as much.
        return list(db.session.connection().execute(statement, values))
    return list(db.session.execute(statement, values).scalars())


def paginate(
    listing: Listing, *, per_page: int, cursor: str | None = None, number: int | None = None
) -> Page[Any]:
    """The page at ``cursor``, or the old numbered page ``number``, or the first.

    One row more than the page is fetched to learn whether another follows.
    """
    if cursor:
        position = _decode_cursor(cursor)
    elif number is not None and number > 1:
        position = {"offset": (number - 1) * per_page}
    else:
        position = {"offset": 0}
    if "offset" in position:
        return _offset_page(listing, position["offset"], per_page, numbered=not cursor)
    if not listing.keys or not position.keys() <= {"after", "before"}:
        raise NotFound(DAMAGED)
    backwards = "before" in position
    values = _key_values(listing, position["before" if backwards else "after"])
    columns = tuple_(*listing.keys)
    bound = tuple_(*(literal(v, type_=k.type) for k, v in zip(listing.keys, values, strict=True)))
    # Past the cursor in the list's own order; backwards, the list turned round.
    past = columns < bound if listing.descending != backwards else columns > bound
    rows = _fetch(listing, listing.ordered(reverse=backwards).where(past).limit(per_page + 1))
    more = len(rows) > per_page
    items = rows[:per_page]
    if backwards:
        items.reverse()
    if not items:  # rows went away since the link was made: offer the first page
        return Page([], per_page, None, encode_cursor({"offset": 0}))
    after = encode_cursor({"after": _key_of(listing, items[-1])})
    before = encode_cursor({"before": _key_of(listing, items[0])})
    if backwards:
        return Page(items, per_page, after, before if more else None)
    return Page(items, per_page, after if more else None, before)


def forward_key(listing: Listing, cursor: str | None, number: int | None) -> list[Any] | None:
    """The key a forward page starts after ([] for the first page), or None for
    a page that goes back or by number: ``paginate`` serves those. For views
    that read a forward page in a query of their own (``forward_page``)."""
    if number is not None and number > 1:
        return None
    if not cursor:
        return []
    position = _decode_cursor(cursor)
    if "after" not in position:
        return None
    return _key_values(listing, position["after"])


def forward_page(listing: Listing, rows: list[Any], per_page: int, after: list[Any]) -> Page[Any]:
    """The page of ``rows`` (per_page + 1 of them, or fewer at the end) past
    ``after``, with the cursors ``paginate`` would give it."""
    items = rows[:per_page]
    if not items:
        return Page([], per_page, None, encode_cursor({"offset": 0}) if after else None)
    more = len(rows) > per_page
    next_cursor = encode_cursor({"after": _key_of(listing, items[-1])}) if more else None
    prev_cursor = encode_cursor({"before": _key_of(listing, items[0])}) if after else None
    return Page(items, per_page, next_cursor, prev_cursor)


def _offset_page(listing: Listing, offset: int, per_page: int, *, numbered: bool) -> Page[Any]:
    if type(offset) is not int or offset < 0:
        raise NotFound(DAMAGED)
    if offset > MAX_OFFSET:
        if numbered:
            raise NotFound(
                f"Numbered pages go only {MAX_OFFSET:,} rows deep; "
                "go to the first page and follow its Older links."
            )
        raise NotFound(f"Only the first {MAX_OFFSET:,} results are shown; narrow the search.")
    rows = _fetch(
        listing, listing.offset_pages, {"page_limit": per_page + 1, "page_offset": offset}
    )
    if offset and not rows:
        raise NotFound("This page is past the end of the list.")
    more = len(rows) > per_page
    items = rows[:per_page]
    if listing.keys:
        # A numbered page hands over to cursors from here on.
        next_cursor = encode_cursor({"after": _key_of(listing, items[-1])}) if more else None
        prev_cursor = encode_cursor({"before": _key_of(listing, items[0])}) if offset else None
    else:
        next_cursor = encode_cursor({"offset": offset + per_page}) if more else None
        prev_cursor = encode_cursor({"offset": max(offset - per_page, 0)}) if offset else None
    return Page(items, per_page, next_cursor, prev_cursor)
