"""POST /tokens with Basic auth for a bearer token; DELETE /tokens to revoke them all."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.datastructures import WWWAuthenticate

from ..errors import api_error
from ..extensions import limiter
from ..services import accounts
from ..services.api_tokens import issue_token, revoke_tokens
from .auth import REALM, api_user, token_required
from .blueprint import bp
from .schemas import TokenPublic


def _auth_rate_limit() -> str:
    return current_app.config["AUTH_RATE_LIMIT"]


@bp.post("/tokens")
@bp.doc(security=[{"basicAuth": []}])
@limiter.limit(_auth_rate_limit)
@bp.response(201, TokenPublic)
def create_token():
    """Get a bearer token with your email (or username) and password."""
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        raise api_error(
            401,
            "Send your email or username and password with HTTP Basic "
            "auth, for example: curl -u you@example.com -X POST ...",
            www_authenticate=WWWAuthenticate("basic", {"realm": REALM}),
        )
    user = accounts.authenticate(
        login=credentials.username or "", password=credentials.password or ""
    )
    if user is None:
        raise api_error(
            401,
            "Invalid email, username or password.",
            www_authenticate=WWWAuthenticate("basic", {"realm": REALM}),
        )
    if not user.confirmed:
        raise api_error(
            403,
            "Confirm your account first: follow the link in the email we sent when you registered.",
        )
    token, expires_in = issue_token(user)
    return {"token": token, "expires_in": expires_in}


@bp.delete("/tokens")
@token_required
@bp.response(204)
def revoke_all_tokens():
    """Revoke every token of yours, this one included."""
    revoke_tokens(api_user())
