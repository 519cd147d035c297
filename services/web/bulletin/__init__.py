"""Bulletin: a social blog with a JSON API for to-do tasks.

``create_app`` is the one place the app is wired: every extension, hook,
blueprint and command is bound here, and no module wires itself on import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import generated_secret_key, load_config
from .runtime.assets import version_static_urls
from .runtime.json_provider import FastJSONProvider
from .web.cards import feed_cards
from .web.layout import layout_links
from .web.times import time_ago
from .web.urls import IdConverter, id_schema, row_urls

# Security schemes for the OpenAPI document: bearer tokens by default,
# HTTP Basic where POST /tokens says so.
API_SPEC = {
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "basicAuth": {"type": "http", "scheme": "basic"},
        }
    },
    "security": [{"bearerAuth": []}],
}


def create_app(config_name: str | None = None, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app for ``config_name`` (default: ``FLASK_CONFIG``).

    ``overrides`` replaces settings after they are read from the
    environment; tests use it to point at their own database.
    """
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    app.jinja_env.globals["row_urls"] = row_urls
    app.jinja_env.globals["feed_cards"] = feed_cards
    app.jinja_env.globals["layout_links"] = layout_links
    app.jinja_env.filters["time_ago"] = time_ago
    version_static_urls(app)
    app.config.from_object(load_config(config_name, os.environ))
    if overrides:
        app.config.update(overrides)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        # The embedded default: a file in the instance folder, made on first run.
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{os.path.join(app.instance_path, 'bulletin.sqlite')}"
        )

    if not app.config["SECRET_KEY"]:
        # Development without SECRET_KEY: a random key, kept across restarts.
        app.config["SECRET_KEY"] = generated_secret_key(
            app.config["GENERATED_SECRET_KEY_FILE"] or os.path.join(app.instance_path, "secret_key")
        )

    # Imported here, not at the top: gunicorn's master imports this package
    # for its defaults (gunicorn.conf.py) and must not load the app with it.
    from . import api as json_api
    from . import auth, main
    from .cli import register_commands
    from .core.email_addresses import allow_lan_domains
    from .errors import register_error_handlers
    from .extensions import (
        api,
        bootstrap,
        check_limits_where_declared,
        csrf,
        db,
        limiter,
        mail,
        migrate,
        moment,
    )
    from .jobs import init_jobs
    from .runtime import health
    from .runtime.bodies import drain_request_bodies
    from .runtime.headers import add_security_headers
    from .runtime.logs import configure_logging
    from .runtime.metrics import count_pool_connections, init_metrics
    from .runtime.pool import (
        ping_idle_connections,
        restore_transactions,
        retry_cut_requests,
        run_reads_alone,
        settle_cut_commits,
        wait_for_restarts,
    )
    from .runtime.proxy import answer_probes_by_any_host, trust_proxy
    from .runtime.sentry import init_sentry

    # Every request passes these, in this order: metrics first, so they time
    # every request, refused ones too.
    configure_logging(app)
    init_sentry(app)
    init_metrics(app)
    trust_proxy(app)
    answer_probes_by_any_host(app)
    add_security_headers(app)
    drain_request_bodies(app)
    allow_lan_domains()

    db.init_app(app)
    with app.app_context():
        ping_idle_connections(db.engine)
        wait_for_restarts(db.engine, app.config["DB_CONNECT_WAIT"])
        settle_cut_commits(db.engine, app.config["DB_CONNECT_WAIT"])
        count_pool_connections(db.engine)
        retry_cut_requests(app, db.session)
        run_reads_alone(app, db.session)
        restore_transactions(db.engine)
    init_jobs(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    auth.init_login(app)
    csrf.init_app(app)
    mail.init_app(app)
    bootstrap.init_app(app)
    moment.init_app(app)
    limiter.init_app(app)
    api.init_app(app, spec_kwargs=API_SPEC)
    api.register_converter(IdConverter, id_schema)

    app.register_blueprint(health.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    api.register_blueprint(json_api.bp)
    app.register_blueprint(json_api.legacy_bp)
    app.register_blueprint(json_api.docs_assets_bp)
    json_api.init_json_bodies(app)
    # The API authenticates with tokens, not cookies: nothing for CSRF to protect.
    csrf.exempt(json_api.bp)
    csrf.exempt(json_api.legacy_bp)
    check_limits_where_declared(app, limiter)

    register_error_handlers(app)
    register_commands(app)
    return app
