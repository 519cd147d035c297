"""nginx answers some requests itself (static files, its error pages): it must
send the same security headers as the app, so its list is kept in step."""

import re
from pathlib import Path

from bulletin import create_app
from bulletin.runtime.headers import security_headers

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
    every, https = security_headers(300)
    for name in every:
        assert nginx[name.lower()] == response.headers[name], name
    assert set(nginx) - {name.lower() for name in every} == {"strict-transport-security"}
    assert nginx["strict-transport-security"] == "max-age=${HSTS_MAX_AGE}; includeSubDomains"
    assert response.headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"
    assert set(https) == {"Strict-Transport-Security"}


def test_every_response_has_them_and_only_https_ones_hsts():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "HSTS_MAX_AGE": 300})
    client = app.test_client()
    every, _ = security_headers(300)
    for response in (
        client.get("/healthz"),
        client.get("/no-such-page"),  # an error page
        client.get("/api/v1/tasks"),  # an API error (no token)
    ):
        assert {name: response.headers.get(name) for name in every} == every
        assert "Strict-Transport-Security" not in response.headers  # plain http
    error = client.get("/no-such-page", base_url="https://localhost")
    assert error.headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"
    assert "frame-ancestors 'none'" in every["Content-Security-Policy"]
