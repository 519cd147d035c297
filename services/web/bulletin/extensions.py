"""Extension objects, created without an app and bound in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, request
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_moment import Moment
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Predictable constraint names, so Alembic can alter and drop them later.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class ErrorSchema(ma.Schema):
    """The body of every API error (see errors.error_response)."""

    error = ma.fields.String(required=True, metadata={"example": "not_found"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class Api(flask_smorest.Api):
    """flask-smorest without its own error handler: errors.py answers for the whole app."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


db = SQLAlchemy(model_class=Base)
# The models' base class. db.Model is made from Base at run time, which mypy
# cannot follow, so type checking sees Base itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(render_as_batch=True)  # batch mode lets SQLite alter tables
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
bootstrap = Bootstrap5()
moment = Moment()
api = Api()
# Keyed on the client address; behind the proxy, ProxyFix makes it the real one.
limiter = Limiter(key_func=get_remote_address)
# Searches per client address, the page and the API together (SEARCH_RATE_LIMIT):
# each reads up to a few thousand rows. Requests without ?q= are not counted.
search_limit = limiter.shared_limit(
    lambda: current_app.config["SEARCH_RATE_LIMIT"],
    scope="search",
    exempt_when=lambda: not request.args.get("q", "").strip(),
)


def check_limits_where_declared(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter checks app-wide, default and blueprint limits before every
    request, and each route's own limits again in the route's wrapper.
    Bulletin declares its limits on routes only, so the first check finds
    nothing on every request, at 4-6 % of a hot route's CPU. Without those
    limits it is not run; with one (a fork's RATELIMIT_DEFAULT, say) it is.
    Call it once the blueprints are registered. (With RATELIMIT_ENABLED off
    Flask-Limiter registered no check at all.)"""
    manager = limiter.limit_manager
    app_wide = (
        manager.default_limits
        or manager.application_limits
        or any(manager.blueprint_limits(app, name) for name in app.blueprints)
        or app.config.get("RATELIMIT_META")
        or app.config.get("RATELIMIT_IN_MEMORY_FALLBACK")
    )
    hooks = app.before_request_funcs.get(None, [])
    if not app_wide and limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)
