"""Error responses: HTML pages for browsers, JSON bodies for API clients."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import sentry_sdk
from flask import Flask, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
    TooManyRequests,
    default_exceptions,
)
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response as BaseResponse

from .extensions import db, limiter
from .services import ServiceError, TooManyAttempts, search
from .web.next_url import safe_next_path

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API paths, and clients that accept JSON but not HTML, get JSON errors."""
    if request.path.startswith("/api/") or request.path.startswith("/todo/api/"):
        return True
    accept = request.accept_mimetypes
    return accept.accept_json and not accept.accept_html


def error_code(status: int, name: str) -> str:
    """A stable, machine-readable code: ``Not Found`` -> ``not_found``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or str(status)


def error_response(
    status: int, message: str, *, details: dict[str, Any] | None = None, name: str | None = None
) -> Response:
    """The one JSON error body: ``{"error", "message", "details"}``."""
    name = name or HTTP_STATUS_CODES.get(status, "Error")
    response = jsonify(error=error_code(status, name), message=message, details=details or {})
    response.status_code = status
    return response


def api_error(
    status: int, message: str, *, details: dict[str, Any] | None = None, **kwargs: Any
) -> HTTPException:
    """An exception for ``status`` whose JSON body carries ``message`` and ``details``."""
    error = default_exceptions[status](description=message, **kwargs)
    error.details = details  # type: ignore[attr-defined]
    return error


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        with contextlib.suppress(DBAPIError):  # a connection that is gone: the pool replaces it
            db.session.rollback()
    if wants_json():
        response = error_response(
            status,
            error.description or error.name,
            name=error.name,
            details=getattr(error, "details", None),
        )
    else:
        response = Response(_error_page(error), status=status, mimetype="text/html")
    # Keep headers such as Allow (405) and Retry-After (429).
    for key, value in error.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    if isinstance(error, RateLimitExceeded):
        response.headers["Retry-After"] = str(_seconds_until_allowed())
    return response


def _seconds_until_allowed() -> int:
    """When a refused client may try again. Flask-Limiter's own headers are
    off (RATELIMIT_HEADERS_ENABLED): on every request they cost a second redis
    round trip, for counts no client of ours reads. Only a refusal pays it."""
    current = limiter.current_limit
    return max(1, current.reset_at - int(time.time())) if current else 1


def _error_page(error: HTTPException) -> str:
    if isinstance(error, SecurityError):
        # A Host the app does not answer: the layout's links would need that
        # host again, so a bare page, and nothing worth a trace in the log.
        return f"<!doctype html><title>{error.code}</title><h1>{error.code} {error.name}</h1>"
    if isinstance(error, DatabaseOutage):
        # The layout asks the database for the signed-in user: not now.
        return render_template("errors/unavailable.html", error=error)
    try:
        return render_template("errors/error.html", error=error)
    except Exception:
        # The layout needs the database (for the signed-in user); it may be the fault.
        log.exception("rendering the error page failed")
        return f"<!doctype html><title>{error.code}</title><h1>{error.code} {error.name}</h1>"


class DatabaseOutage(ServiceUnavailable):
    description = "The database is not answering. Try again in a moment."


def handle_database_error(error: DBAPIError) -> BaseResponse:
    """A database that is down or restarting is an outage, not a bug: 503 with
    Retry-After and one log line. The pool reconnects by itself (bulletin/runtime/pool.py)."""
    if not (isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated):
        return handle_unexpected(error)
    if search.too_slow(error):  # the search's own statement timeout, not an outage
        return handle_service_error(ServiceError(search.NARROW, field="q"))
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    log.warning("database unavailable on %s %s: %s", request.method, request.path, reason)
    response = handle_http_exception(DatabaseOutage())
    response.headers["Retry-After"] = "10"
    return response


def handle_service_error(error: ServiceError) -> BaseResponse:
    """A rule broken anywhere below a view, answered in one place: API clients
    get the error's status and message as JSON; a browser goes back (303) to
    the page it came from, which shows the message."""
    db.session.rollback()
    if isinstance(error, TooManyAttempts):
        return handle_http_exception(TooManyRequests(error.message, retry_after=error.retry_after))
    if wants_json():
        details = {"field": error.field} if error.field else None
        return error_response(error.status, error.message, details=details)
    flash(error.message, "danger")
    return redirect(_page_it_came_from(), 303)


def _page_it_came_from() -> str:
    """The referring page when it is on this site (and not this very page
    asked for again, which would only fail again), else the home page."""
    referrer = urlsplit(request.referrer or "")
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    again = request.method == "GET" and back == request.full_path.rstrip("?")
    if referrer.netloc == request.host and not again:
        return safe_next_path(back) or url_for("main.index")
    return url_for("main.index")


def release_session(_error: BaseException | None) -> None:
    """Hand the request's connection back even when the database went away
    after the answer was made: the rollback on a dead connection would raise
    in teardown, past every error handler, and gunicorn would answer 500.
    Registered after Flask-SQLAlchemy's own teardown, so it runs first."""
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("database connection lost at the end of a request: %s", error.orig)
        db.session.registry.clear()


def handle_unexpected(error: Exception) -> Response:
    """Log the trace; the client only learns that something went wrong."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    # Handled here, so Flask never signals it: tell Sentry (a no-op without SENTRY_DSN).
    sentry_sdk.capture_exception(error)
    return handle_http_exception(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(ServiceError, handle_service_error)
    app.teardown_appcontext(release_session)
    app.register_error_handler(Exception, handle_unexpected)
