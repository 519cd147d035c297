"""The API blueprint that every route module attaches its views to.

It lives apart from ``__init__`` so the route modules can import it without
importing the package that imports them.
"""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint

from .parser import Parser


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()


bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Tokens, to-do tasks, posts, comments and users.",
)
