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

# Where a token request carries its second factor's code.
SECOND_FACTOR_HEADER = "X-Second-Factor"


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
    _check_second_factor(user)
    token, expires_in = issue_token(user)
    return {"token": token, "expires_in": expires_in}


def _check_second_factor(user) -> None:
    """A password alone mints no token for an account with a second factor:
    its code comes in SECOND_FACTOR_HEADER (a passkey cannot be sent by a
    script; such accounts add an authenticator for the API)."""
    if accounts.must_set_up_second_factor(user):
        raise api_error(
            403,
            "Staff accounts need a second factor here: sign in on the site and set one up "
            "(your menu, Security).",
        )
    if not accounts.has_second_factor(user):
        return
    code = request.headers.get(SECOND_FACTOR_HEADER, "")
    if not code:
        raise api_error(
            401,
            f"This account has a second factor: send a code from your authenticator app, or "
            f"a recovery code, in the {SECOND_FACTOR_HEADER} header.",
            details={"second_factor": "required"},
        )
    if accounts.check_code(user, code) is None:
        raise api_error(401, f"The code in {SECOND_FACTOR_HEADER} is wrong or was used already.")


@bp.delete("/tokens")
@token_required
@bp.response(204)
def revoke_all_tokens():
    """Revoke every token of yours, this one included."""
    revoke_tokens(api_user())
