"""Security headers on every response: HSTS, CSP, nosniff, referrer policy and
frame denial (Flask-Talisman)."""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],  # Bootstrap draws its icons as data: SVGs
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

talisman = Talisman()


def add_security_headers(app: Flask) -> None:
    """HSTS, CSP, nosniff, referrer policy and frame denial on every response.

    HTTPS itself is enforced once, by nginx; redirecting here too would loop
    behind the proxy and break health checks made over plain HTTP inside the
    network.
    """
    talisman.init_app(
        app,
        force_https=False,
        strict_transport_security=True,
        strict_transport_security_max_age=app.config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy=REFERRER_POLICY,
        frame_options="DENY",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
    )
