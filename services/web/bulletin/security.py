"""What the app does to be safe behind a TLS proxy: real client details, security
headers, and request bodies read to the end."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, request
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

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

# Probes and the metrics scrape come from inside the private network, addressed
# by a container name or a pod's IP. The Host check guards emailed links and
# caches, which these answers have none of, so they are answered by any Host
# when no proxy forwarded them.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def trust_proxy(app: Flask) -> None:
    """Believe PROXY_HOPS proxies about the client's address, scheme and host.

    Then redirects, external URLs, email links, CSRF referrer checks, rate
    limits and secure cookies all see what the browser sees.
    """
    hops = app.config["PROXY_HOPS"]
    if hops:
        # No x_port: X-Forwarded-Host already carries the browser's port.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def answer_probes_by_any_host(app: Flask) -> None:
    """Let orchestrators and Prometheus reach PROBE_PATHS by address or service name."""
    inner = app.wsgi_app

    def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in PROBE_PATHS and "HTTP_X_FORWARDED_FOR" not in environ:
            environ["HTTP_HOST"] = "localhost"
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]


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
