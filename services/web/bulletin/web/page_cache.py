"""What a shared cache (nginx's, in the stack) may keep: pages for visitors.

Every visitor without a session sees the same home page, post pages and
profiles, so nginx may keep one copy for PAGE_CACHE_SECONDS and answer the
crowd from it, one request to the app per copy. A page for someone signed in,
or one that sets a cookie, is marked private and no shared cache stores it.
The app decides with Cache-Control; nginx obeys it (nginx/templates), and
skips its cache for any request that carries a session besides.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, make_response, request, session
from flask_login import current_user
from werkzeug.wrappers import Response


def _shareable(response: Response) -> bool:
    return (
        request.method in {"GET", "HEAD"}
        and response.status_code == 200
        and not current_user.is_authenticated
        and not session.modified  # would set the session cookie
        and "Set-Cookie" not in response.headers
    )


def for_visitors(view: Callable[..., Any]) -> Callable[..., Response]:
    """Let shared caches keep this view's page when a visitor asked for it.

    Browsers get max-age=0, so each visit asks again (and sees a new post as
    soon as nginx does); only shared caches keep it, for s-maxage seconds.
    """

    @wraps(view)
    def marked(*args: Any, **kwargs: Any) -> Response:
        response = make_response(view(*args, **kwargs))
        seconds = current_app.config["PAGE_CACHE_SECONDS"]
        if seconds and _shareable(response):
            response.cache_control.public = True
            response.cache_control.max_age = 0
            response.cache_control.s_maxage = seconds
        else:
            response.cache_control.private = True
            response.cache_control.no_cache = True
        return response

    return marked
