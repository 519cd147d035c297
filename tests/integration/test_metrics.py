"""/metrics: what it counts, who may read it, and the backup's age."""

from __future__ import annotations

import json
import math
import time

from flask.testing import FlaskClient

from bulletin import create_app
from harness.waiting import free_port
from tests.support import basic_auth


def scrape(client: FlaskClient, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_requests_are_counted_by_endpoint_method_and_status(client: FlaskClient):
    labels = {"endpoint": "main.index", "method": "GET", "status": "200"}
    before = value(scrape(client), "bulletin_http_requests_total", **labels)
    missing = value(scrape(client), "bulletin_http_requests_total", endpoint="unmatched")
    client.get("/")
    client.get("/")
    client.get("/no-such-page")
    after = scrape(client)
    assert value(after, "bulletin_http_requests_total", **labels) == before + 2
    assert value(after, "bulletin_http_requests_total", endpoint="unmatched") == missing + 1
    assert (
        value(after, "bulletin_http_request_duration_seconds_count", endpoint="main.index")
        >= before + 2
    )
    assert "bulletin_db_pool_connections_in_use" in after


def test_refused_when_it_came_through_the_proxy(client: FlaskClient):
    response = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 404


def test_probes_answer_an_internal_host_name_that_pages_do_not(database_url: str):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TRUSTED_HOSTS": ["localhost", "bulletin.example.com"],
        },
    )
    client = app.test_client()
    for path in ("/metrics", "/healthz", "/readyz"):
        assert client.get(path, headers={"Host": "web:8000"}).status_code == 200, path
    assert client.get("/", headers={"Host": "web:8000"}).status_code == 400
    forwarded = {"Host": "web:8000", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/healthz", headers=forwarded).status_code == 400


def test_the_last_good_backups_age_comes_from_the_status_file(database_url: str, tmp_path):
    status = tmp_path / "status.json"
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "BACKUP_STATUS_FILE": str(status)}
    )
    assert math.isinf(value(scrape(app.test_client()), "bulletin_backup_last_success_age_seconds"))

    status.write_text(json.dumps({"last_success": time.time() - 600, "failures": 3}))
    text = scrape(app.test_client())
    assert 600 <= value(text, "bulletin_backup_last_success_age_seconds") < 700
    assert value(text, "bulletin_backup_failures_total") == 3

    status.write_text("{half a file")  # being replaced: no crash, no stale numbers
    assert math.isinf(value(scrape(app.test_client()), "bulletin_backup_last_success_age_seconds"))


def test_a_database_that_does_not_answer_is_a_friendly_503():
    """A real PostgreSQL connection to a port nobody listens on."""
    url = f"postgresql://bulletin:secret@127.0.0.1:{free_port()}/bulletin"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()

    page = client.get("/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "10"
    assert "Bulletin will be back in a moment" in page.get_data(as_text=True)

    api = client.post("/api/v1/tokens", headers=basic_auth("someone@example.com"))
    assert api.status_code == 503
    assert api.get_json()["error"] == "service_unavailable"

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "database unreachable" in ready.get_json()["reason"]
