"""URL converters shared by the HTML views and the API."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from flask import g, url_for
from werkzeug.routing import IntegerConverter

ID_MAX = 2**31 - 1  # the largest INTEGER primary key PostgreSQL stores


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id from 1 to ID_MAX; anything else is a 404, not a database error."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


def id_schema(converter: IdConverter) -> dict[str, object]:
    """How the OpenAPI document describes an ``<id:...>`` path parameter."""
    return {"type": "integer", "minimum": 1, "maximum": ID_MAX}


# Stands in for the one varying part while a row's URL is built: digits, so the
# id converter takes it, and no host or path holds them by chance.
STAND_IN = "1234567890"
# What Werkzeug's converters leave unquoted in a path part (BaseConverter.to_url).
PATH_SAFE = "!$&'()*+,/:;=@"


def row_url(endpoint: str, part: str, value: object, *, external: bool = False) -> str:
    """``url_for(endpoint, **{part: value})`` for one row of many (``row_urls``)."""
    return row_urls(endpoint, part, external=external)(value)


def row_urls(endpoint: str, part: str, *, external: bool = False) -> Callable[[object], str]:
    """What gives ``url_for(endpoint, **{part: value})`` for each of many rows.

    url_for walks the URL map each time (about 5 µs, forty times on a page
    of twenty posts); the URL is built once per request around a stand-in
    and each row fills in its own part. A loop over rows takes this once.
    """
    head, tail = row_url_parts(endpoint, part, external=external)

    def url(value: object) -> str:
        if type(value) is int:  # digits need no quoting (a page of tasks: 20 of them)
            return f"{head}{value}{tail}"
        return f"{head}{quote(str(value), safe=PATH_SAFE)}{tail}"

    return url


def row_url_parts(endpoint: str, part: str, *, external: bool = False) -> tuple[str, str]:
    """The URL of ``endpoint`` for this request before and after ``part``
    (row_urls fills it in; web/cards.py keys its cards by them)."""
    templates = g.setdefault("row_urls", {})
    key = (endpoint, part, external)
    if key not in templates:
        built = url_for(endpoint, **{part: STAND_IN}, _external=external)
        head, found, tail = built.partition(STAND_IN)
        if not found:
            raise ValueError(f"{endpoint} does not put {part} in its URL")
        templates[key] = (head, tail)
    return templates[key]
