"""Behind the TLS proxy: whom to believe about the client, and which requests
come from inside the private network."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

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
