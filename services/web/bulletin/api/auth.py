"""Who is calling: HTTP Basic for getting a token, bearer tokens for the rest."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from werkzeug.datastructures import WWWAuthenticate

from ..core import throttle
from ..errors import api_error
from ..extensions import db
from ..models import Permission, User
from ..services.api_tokens import Bearer, InvalidToken, caller_row, check_caller, claims_of

REALM = "Bulletin API"


def _bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Access-Token") or None  # older clients send this


def token_required(view: Callable | None = None, *, caller_in_view: bool = False) -> Callable:
    """Let the view run for a confirmed user with a valid token; else 401 or 403.

    With ``caller_in_view`` the view checks the caller in its own statement:
    a read hands its row of CALLER_COLUMNS to ``check_caller_row``, a write
    names the token's user and version in its WHERE (``caller_checked``).
    One round trip fewer on the hottest routes. Should a view do neither,
    the check still runs after it, before anything is sent.
    """
    if view is None:
        return lambda view: token_required(view, caller_in_view=caller_in_view)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _bearer_token()
        if token is None:
            raise api_error(
                401,
                "Send a token as 'Authorization: Bearer <token>'; "
                "get one with POST /api/v1/tokens.",
                www_authenticate=WWWAuthenticate("bearer", {"realm": REALM}),
            )
        try:
            g.api_claims = claims_of(token)
        except InvalidToken as error:
            raise _refused(error) from None
        if not caller_in_view:
            api_bearer()
            return view(*args, **kwargs)
        answer = view(*args, **kwargs)
        if not g.get("api_caller_checked"):
            api_bearer()
        return answer

    return wrapped


def _refused(error: InvalidToken) -> Exception:
    return api_error(
        401,
        str(error),
        www_authenticate=WWWAuthenticate("bearer", {"realm": REALM, "error": "invalid_token"}),
    )


def check_caller_row(row: Any) -> Bearer:
    """The caller, from a row of CALLER_COLUMNS a view read (None: no such user)."""
    try:
        bearer = check_caller(g.api_claims, row)
    except InvalidToken as error:
        raise _refused(error) from None
    if not bearer.confirmed:
        raise api_error(
            403,
            "Confirm your account first: follow the link in the email we sent when you registered.",
        )
    g.api_bearer = bearer
    caller_checked()
    return bearer


def caller_checked() -> None:
    """The view's own statement checked the caller (a write that names the
    token's user and version in its WHERE): no check after it."""
    g.api_caller_checked = True


def api_bearer() -> Bearer:
    """The caller's id and permissions: enough for reads, no entity loaded."""
    if "api_bearer" not in g:
        return check_caller_row(caller_row(g.api_claims))
    return g.api_bearer


def api_user() -> User:
    """The caller as a User entity, for the services that change things."""
    if "api_user" not in g:
        g.api_user = db.session.get_one(User, api_bearer().id)
    return g.api_user


def require_permission(permission: Permission) -> None:
    if not api_bearer().can(permission):
        raise api_error(403, f"Your account may not do this ({permission.name} permission).")


def _writer_key() -> str:
    # The token's user, known from its signature: the limit counts before the
    # view's own query checks the caller (token_required's caller_in_view).
    claims = g.get("api_claims")
    return f"user:{claims.public_id}" if claims is not None else request.remote_addr or "-"


def write_limit(view: Callable) -> Callable:
    """One count of writes per user (API_WRITE_RATE_LIMIT), across every write
    route; goes below token_required. Counted by ``throttle``, in one hit."""

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        limit = current_app.config["API_WRITE_RATE_LIMIT"]
        wait = throttle.spend(limit, ("api-writes", _writer_key()))
        if wait is not None:
            raise api_error(
                429, f"Too many writes: at most {limit}. Try again in {wait} s.", retry_after=wait
            )
        return view(*args, **kwargs)

    return limited
