"""Sign-in, registration and credential changes under /auth/."""

from flask import Blueprint, Flask

from ..extensions import login_manager
from ..services import accounts

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401  (routes, and second_factor through it, attach to bp)


def init_login(app: Flask) -> None:
    """Flask-Login: a session cookie names a login session (accounts), and a
    visitor who opens a page for members is sent to the sign-in form."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.user_loader(accounts.load_login_session)
