"""Error reports to Sentry when SENTRY_DSN is set; nothing at all otherwise.

sentry-sdk finds Flask and SQLAlchemy by itself. No personal data is sent
(no cookies, addresses or form fields), and each report carries nginx's
request id, so it leads to the same request in the logs.
"""

from __future__ import annotations

from flask import Flask

from .logs import request_id


def init_sentry(app: Flask) -> None:
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["ENV_NAME"],
        release=app.config["RELEASE"],
        # Nothing that identifies a person: no user, cookies, bodies or query strings.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
        },
        traces_sample_rate=app.config["SENTRY_TRACES_SAMPLE_RATE"],
    )

    @app.before_request
    def tag_request_id() -> None:
        sentry_sdk.set_tag("request_id", request_id())
