"""Security headers on every response: HSTS, CSP, nosniff, referrer policy,
frame denial and no interest cohorts.

They are the same on every response, so each app joins them once and one
hook sets them. (Flask-Talisman, used before, built each header from its
options on every response: 64 µs of a task's creation, loadtests/RESULTS.md.)
"""

from __future__ import annotations

from flask import Flask, request
from flask.wrappers import Response

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",  # Bootstrap draws its icons as data: SVGs
    # Flask-Moment hides each timestamp with style="display: none" until its
    # script has written the local time; no <style> elements or inline scripts.
    "style-src-attr": "'unsafe-inline'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Sends the origin on same-site requests, so Flask-WTF's https referrer check
# passes, and nothing beyond the origin to other sites.
REFERRER_POLICY = "strict-origin-when-cross-origin"


def security_headers(hsts_max_age: int) -> tuple[dict[str, str], dict[str, str]]:
    """The headers for every response, and those for https responses only."""
    every = {
        "Content-Security-Policy": "; ".join(
            f"{directive} {sources}" for directive, sources in CONTENT_SECURITY_POLICY.items()
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": REFERRER_POLICY,
        # Chrome's Topics API: no interest groups computed from visits here.
        "Permissions-Policy": "browsing-topics=()",
    }
    # Browsers take HSTS from https responses only; over plain http inside the
    # network (health checks) it would say nothing true.
    https = {"Strict-Transport-Security": f"max-age={hsts_max_age}; includeSubDomains"}
    return every, https


def add_security_headers(app: Flask) -> None:
    """The security headers on every response, error pages too.

    HTTPS itself is enforced once, by nginx; redirecting here too would loop
    behind the proxy and break health checks made over plain HTTP inside the
    network.
    """
    every, https = security_headers(app.config["HSTS_MAX_AGE"])

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        response.headers.update(every)  # replaces any a view set
        if request.is_secure:
            response.headers.update(https)
        return response
