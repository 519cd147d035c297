"""The API blueprint that every route module attaches its views to.

It lives apart from ``__init__`` so the route modules can import it without
importing the package that imports them.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint as SmorestBlueprint

from .parser import Parser


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """Make a schema given as a class once, here: webargs makes one from a
        class for every request, which cost the task list a tenth of its time."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Tokens, to-do tasks, posts, comments and users.",
)
