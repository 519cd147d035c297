"""Who is calling: HTTP Basic for getting a token, bearer tokens for the rest."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from werkzeug.datastructures import WWWAuthenticate

from ..errors import api_error
from ..extensions import db, limiter
from ..models import Permission, User
from ..services.api_tokens import Bearer, InvalidToken, bearer_of

REALM = "Bulletin API"


def _bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Access-Token") or None  # older clients send this


def token_required(view: Callable) -> Callable:
    """Let the view run for a confirmed user with a valid token; else 401 or 403."""

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
            bearer = bearer_of(token)
        except InvalidToken as error:
            raise api_error(
                401,
                str(error),
                www_authenticate=WWWAuthenticate(
                    "bearer", {"realm": REALM, "error": "invalid_token"}
                ),
            ) from None
        if not bearer.confirmed:
            raise api_error(
                403,
                "Confirm your account first: follow the link in the email "
                "we sent when you registered.",
            )
        g.api_bearer = bearer
        return view(*args, **kwargs)

    return wrapped


def api_bearer() -> Bearer:
    """The caller's id and permissions: enough for reads, no entity loaded."""
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
    bearer = g.get("api_bearer")
    return f"user:{bearer.id}" if bearer is not None else request.remote_addr or "-"


# One count of writes per user, across every write route; goes below token_required.
write_limit = limiter.shared_limit(
    lambda: current_app.config["API_WRITE_RATE_LIMIT"], scope="api-writes", key_func=_writer_key
)
