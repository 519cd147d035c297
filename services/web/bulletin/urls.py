"""URL converters shared by the HTML views and the API."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

ID_MAX = 2**31 - 1  # the largest INTEGER primary key PostgreSQL stores


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id from 1 to ID_MAX; anything else is a 404, not a database error."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


def id_schema(converter: IdConverter) -> dict[str, object]:
    """How the OpenAPI document describes an ``<id:...>`` path parameter."""
    return {"type": "integer", "minimum": 1, "maximum": ID_MAX}
