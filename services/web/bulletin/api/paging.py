"""One page of a list, with links to its neighbours."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import Select

from ..pagination import paginate


def page_of(
    statement: Select[Any], args: dict[str, Any], endpoint: str, **values: Any
) -> dict[str, Any]:
    """The page ``args`` asks for; ``values`` and filters in ``args`` go into the links."""
    page = paginate(statement, page=args["page"], per_page=args["per_page"])
    query = {key: value for key, value in args.items() if key not in {"page", "per_page"}}

    def link(number: int | None) -> str | None:
        if number is None:
            return None
        return url_for(
            endpoint,
            page=number,
            per_page=page.per_page,
            _external=True,
            **values,
            **{k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()},
        )

    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "links": {
            "self": link(page.page),
            "next": link(page.next_num),
            "prev": link(page.prev_num),
        },
    }
