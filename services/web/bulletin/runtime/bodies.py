"""Request bodies read to the end, so nginx sees the app's answer and not a
broken pipe."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException


def drain_request_bodies(app: Flask) -> None:
    """Read what a view left unread of a request body before the response goes out.

    A view may refuse a request (a missing CSRF token, a rate limit) without
    reading its body. gunicorn then closes the connection while nginx is still
    sending that body, nginx gets a broken pipe and answers 502 instead of the
    app's 400 (one early refusal of a 1 MB body in six, on loopback). The body
    is at most MAX_CONTENT_LENGTH, which nginx enforces too.
    """

    @app.teardown_request
    def drain(_error: BaseException | None) -> None:
        try:
            while request.stream.read(64 * 1024):
                pass
        except (HTTPException, OSError):
            pass  # too large to read (the answer is 413), or the client went away
