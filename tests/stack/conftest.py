"""The HTTPS stack without Docker: Debian's nginx, rendered from the project's
templates, in front of gunicorn started by the web entrypoint with the
project's gunicorn.conf.py, in front of PostgreSQL. All on loopback.
"""

from __future__ import annotations

import email
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from tests.https_checks import Stack, wait_for
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "services/web"
MAX_CONTENT_LENGTH = 1024 * 1024
HSTS_MAX_AGE = 31_536_000  # production's


def render_templates(source: Path, target: Path, variables: dict[str, str]) -> None:
    """What the nginx image does at start: envsubst on each *.template, only
    for the variables given, so nginx's own $variables stay as they are."""
    names = "|".join(map(re.escape, variables))
    pattern = re.compile(rf"\$\{{({names})\}}|\$({names})\b")
    for template in source.rglob("*.template"):
        output = target / template.relative_to(source).with_suffix("")
        output.parent.mkdir(parents=True, exist_ok=True)
        content = pattern.sub(lambda m: variables[m.group(1) or m.group(2)], template.read_text())
        output.write_text(content)


NGINX_MAIN = """\
{user}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
daemon off;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include conf.d/*.conf;
}}
"""


class Mailbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def last_to(self, address: str) -> str:
        def arrived() -> bool:
            return any(address in m["To"] for m in self.messages)

        wait_for(arrived, 15, f"a mail to {address}")
        message = [m for m in self.messages if address in m["To"]][-1]
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
        raise AssertionError("the mail has no text part")


def stack_database(base_url: str) -> Iterator[str]:
    """An empty database of its own beside the test database, dropped afterwards."""
    parts = urlsplit(base_url)
    name = parts.path.lstrip("/") + "_stack"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    database_url = os.environ.get("TEST_DATABASE_URL", "")
    if not database_url:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL (see .ci/run)")
    sys.path.insert(0, str(ROOT / "certs"))
    import generate_local_certs

    prefix = tmp_path_factory.mktemp("stack")
    certs = prefix / "certs"
    generate_local_certs.ensure_certificates(
        certs, generate_local_certs.parse_names("localhost", ""))

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    databases = stack_database(database_url)
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    app_log = prefix / "app.log"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "APP_DIR": str(WEB),
        "FLASK_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": next(databases),
        "PROXY_HOPS": "1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_USE_TLS": "false",
        "AUTH_RATE_LIMIT": "1000/minute",
        "MAX_CONTENT_LENGTH": str(MAX_CONTENT_LENGTH),
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
        "GUNICORN_WORKERS": "2",
    }
    with open(app_log, "w") as log:
        app = subprocess.Popen(
            ["/bin/sh", str(WEB / "entrypoint.sh"), "gunicorn", "--config", "gunicorn.conf.py",
             "bulletin.wsgi:app"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    render_templates(ROOT / "nginx/templates", prefix / "conf.d", {
        "SERVER_NAME": "localhost",
        "UPSTREAM": f"127.0.0.1:{app_port}",
        "NGINX_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "NGINX_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "HTTPS_PORT": str(https_port),
        "MAX_CONTENT_LENGTH": str(MAX_CONTENT_LENGTH),
        "TLS_CERTIFICATE": str(certs / "server.crt"),
        "TLS_CERTIFICATE_KEY": str(certs / "server.key"),
        "STATIC_ROOT": str(WEB / "bulletin"),
        "PAGES_ROOT": str(ROOT / "nginx/html"),
        "ACME_WEBROOT": str(prefix / "acme"),
        "ACCESS_LOG": str(prefix / "access.log"),
        "HSTS_MAX_AGE": str(HSTS_MAX_AGE),
    })
    (prefix / "tmp").mkdir()
    (prefix / "acme").mkdir()
    # As root, the workers must still read the checkout under /work or /tmp.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(NGINX_MAIN.format(user=user, prefix=prefix))
    check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proxy = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def healthy() -> bool:
            if app.poll() is not None:
                raise AssertionError(f"the web entrypoint exited:\n{app_log.read_text()[-3000:]}")
            return requests.get(f"http://127.0.0.1:{app_port}/healthz", timeout=2).ok

        wait_for(healthy, 60, "gunicorn answering /healthz")
        yield Stack(
            https_url=f"https://127.0.0.1:{https_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            ca_file=certs / "ca.crt",
            hsts_max_age=HSTS_MAX_AGE,
            max_content_length=MAX_CONTENT_LENGTH,
            nginx_log=lambda: (prefix / "access.log").read_text()
            if (prefix / "access.log").exists() else "",
            app_log=app_log.read_text,
            last_mail_to=mailbox.last_to,
            source_address="127.0.0.2",
        )
    finally:
        stop(proxy)
        stop(app)
        smtp.stop()
        next(databases, None)


@pytest.fixture(scope="session")
def app_url(stack: Stack) -> str:
    """gunicorn straight, as the compose network's health checks reach it."""
    match = re.search(r"Listening at: (http://\S+)", wait_logged(stack.app_log, "Listening at"))
    assert match
    return match.group(1)


def wait_logged(read, text_: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = read()
        if text_ in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text_!r} not logged")
