"""Who is calling: HTTP Basic for getting a token, bearer tokens for the rest."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from werkzeug.datastructures import WWWAuthenticate

from ..errors import api_error
from ..extensions import limiter
from ..models import Permission, User
from ..services.api_tokens import InvalidToken, user_for_token

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
            user = user_for_token(token)
        except InvalidToken as error:
            raise api_error(
                401,
                str(error),
                www_authenticate=WWWAuthenticate(
                    "bearer", {"realm": REALM, "error": "invalid_token"}
                ),
            ) from None
        if not user.confirmed:
            raise api_error(
                403,
                "Confirm your account first: follow the link in the email "
                "we sent when you registered.",
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def api_user() -> User:
    return g.api_user


def require_permission(permission: Permission) -> None:
    if not api_user().can(permission):
        raise api_error(403, f"Your account may not do this ({permission.name} permission).")


def _writer_key() -> str:
    user = g.get("api_user")
    return f"user:{user.public_id}" if user is not None else request.remote_addr or "-"


# One count of writes per user, across every write route; goes below token_required.
write_limit = limiter.shared_limit(
    lambda: current_app.config["API_WRITE_RATE_LIMIT"], scope="api-writes", key_func=_writer_key
)
