"""One page of a list, with links to its neighbours."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ..core.pagination import Listing, Page, paginate

PAGING_ARGS = {"cursor", "page", "per_page"}


def page_of(listing: Listing, args: dict[str, Any], endpoint: str, **values: Any) -> dict[str, Any]:
    """The page ``args`` asks for; ``values`` and filters in ``args`` go into the links."""
    page = paginate(
        listing, per_page=args["per_page"], cursor=args.get("cursor"), number=args.get("page")
    )
    return {
        "items": page.items,
        "per_page": page.per_page,
        "links": links_of(page, args, endpoint, **values),
    }


def links_of(page: Page[Any], args: dict[str, Any], endpoint: str, **values: Any) -> dict[str, Any]:
    filters = {
        name: str(value).lower() if isinstance(value, bool) else value
        for name, value in args.items()
        if name not in PAGING_ARGS
    }

    def link(**position: Any) -> str:
        return url_for(
            endpoint, per_page=page.per_page, _external=True, **values, **filters, **position
        )

    return {
        "self": link(cursor=args.get("cursor"), page=args.get("page")),
        "next": link(cursor=page.next_cursor) if page.next_cursor else None,
        "prev": link(cursor=page.prev_cursor) if page.prev_cursor else None,
    }
