"""nginx answers some requests itself (static files, its error pages): it must
send the same security headers as the app, so its list is kept in step."""

import re
from pathlib import Path

from bulletin import create_app

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "nginx/templates/snippets/security-headers.conf.template"


def nginx_headers() -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in re.findall(
            r'^add_header ([\w-]+) "([^"]*)" always;', SNIPPET.read_text(), re.M
        )
    }


def test_nginx_sends_the_same_security_headers_as_the_app():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "HSTS_MAX_AGE": 300})
    response = app.test_client().get("/healthz", base_url="https://localhost")
    nginx = nginx_headers()
    for name in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    ):
        assert nginx[name.lower()] == response.headers[name], name
    assert nginx["strict-transport-security"] == "max-age=${HSTS_MAX_AGE}; includeSubDomains"
    assert response.headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"
