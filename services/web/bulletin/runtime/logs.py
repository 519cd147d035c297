"""Logging: one line per event on stdout, JSON in production, with the request id.

nginx assigns the request id (``X-Request-ID``); carrying it in every line
lets one request be followed from the proxy to the app.
"""

from __future__ import annotations

import logging
import re
import sys

from flask import Flask, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

HANDLER_NAME = "bulletin"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id"]
# Confirmation, reset and email-change links carry a token in the path, and a
# link followed while signed out carries it again, percent-encoded, in ?next=
# (once or twice encoded). nginx's log format redacts the same way.
_SLASH = r"(?:/|%2F|%252F)"
_TOKEN_IN_PATH = re.compile(
    rf"({_SLASH}auth{_SLASH}(?:confirm|reset|change-email){_SLASH})[A-Za-z0-9._~-]+",
    re.IGNORECASE,
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def request_id() -> str:
    """The proxy's id for this request, or "-" outside a request or when malformed."""
    if not has_request_context():
        return "-"
    value = request.headers.get("X-Request-ID", "")
    return value if _REQUEST_ID.match(value) else "-"


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class RedactTokensFilter(logging.Filter):
    """Keep the tokens of emailed links out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Loggers that write request lines (the paths hold tokens).
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def configure_logging(app: Flask) -> None:
    """Send the root logger to stdout in the configured format, once per process."""
    handler = logging.StreamHandler(sys.stdout)
    handler.name = HANDLER_NAME
    handler.addFilter(RequestIdFilter())
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic announces each of its plugins at import: noise on every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name in ACCESS_LOGGERS:
        access = logging.getLogger(name)
        if not any(isinstance(f, RedactTokensFilter) for f in access.filters):
            access.addFilter(RedactTokensFilter())
