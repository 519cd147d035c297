"""Signing a browser in: a new login session, the device cookie, and the limit on tries."""

from __future__ import annotations

from flask import Response, after_this_request, current_app, session
from flask_login import login_user

from ..extensions import limiter
from ..models import User
from ..services import accounts

# Sign-in, registration and reset requests (and each second step) per client address.
auth_limit = limiter.limit(lambda: current_app.config["AUTH_RATE_LIMIT"], methods=["POST"])

# The cookie that marks a browser its owner signed in on (accounts.signin).
DEVICE_COOKIE = "bulletin_device"


def sign_in(user: User, *, remember: bool) -> None:
    """Sign ``user`` in on this browser, in a new session (its id rotated)."""
    # A fresh session: nothing from before sign-in carries over.
    session.clear()
    accounts.start_login_session(user, remember=remember)
    login_user(user, remember=remember)
    token = accounts.device_token(user)

    # This browser now counts as the owner's: the per-account limit on failed
    # sign-ins does not apply to it (see accounts.authenticate).
    @after_this_request
    def set_device_cookie(response: Response) -> Response:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=accounts.DEVICE_COOKIE_MAX_AGE,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
            path="/auth/",
        )
        return response
