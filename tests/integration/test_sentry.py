"""Error reports reach a Sentry endpoint when SENTRY_DSN is set, with the
request id and without personal data. No Sentry can run here: the endpoint is
a plain HTTP server on loopback that keeps what sentry-sdk really sends."""

from __future__ import annotations

import gzip
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sentry_sdk

from bulletin import create_app


class Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # sentry-sdk's choice when brotli is installed
            import brotli

            body = brotli.decompress(body)
        Ingest.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def ingest() -> Iterator[str]:
    Ingest.received = []
    server = HTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://publickey@127.0.0.1:{server.server_port}/1"
    server.shutdown()
    server.server_close()
    sentry_sdk.init()  # the process's client again without a DSN: reports off


def test_an_unhandled_error_is_reported_with_the_request_id(ingest, database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "SENTRY_DSN": ingest})
    # create_app reads SENTRY_DSN from the config it was given.
    assert sentry_sdk.get_client().dsn == ingest

    @app.get("/boom")
    def boom():
        return 1 / 0

    # Made here, so the reported source lines of this file do not contain it.
    cookie = secrets.token_hex(16)
    response = app.test_client().get(
        "/boom", headers={"X-Request-ID": "feedc0de", "Cookie": f"session={cookie}"}
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    sent = b"".join(Ingest.received)
    assert b"ZeroDivisionError" in sent
    assert b"feedc0de" in sent
    assert cookie.encode() not in sent


def test_no_dsn_no_reports(database_url):
    sentry_sdk.init()
    create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "SENTRY_DSN": None})
    assert sentry_sdk.get_client().dsn is None
