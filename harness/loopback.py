"""The HTTPS stack without Docker, on loopback: Debian's nginx rendered from
nginx/templates/, in front of gunicorn started by the web entrypoint with
services/web/gunicorn.conf.py, in front of a PostgreSQL database of its own,
and the job worker beside it.

Used by tests/stack (as a fixture) and by the benchmark (python -m loadtests.benchmark).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import create_engine, text

from certs import generate_local_certs
from harness.waiting import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "services/web"
# What nginx serves /static/ from: the app's own files, as the image copies them.
STATIC_ROOT = WEB / "bulletin"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_MAIN = """\
{user}
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {error_level};
daemon off;
events {{ worker_connections 4096; }}
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


def missing_parts() -> str | None:
    """Why a loopback stack cannot start here, or None; the PostgreSQL URL
    comes from TEST_DATABASE_URL."""
    if not os.path.exists(NGINX):
        return "nginx is not installed (apt-get install nginx-light)"
    if not shutil.which("redis-server"):
        return "redis-server is not installed (apt-get install redis-server)"
    if not os.environ.get("TEST_DATABASE_URL"):
        return "PostgreSQL not configured: set TEST_DATABASE_URL (see .ci/run)"
    return None


class FromAddress(HTTPAdapter):
    """Connect from a given local address (127.0.0.0/8 is all loopback), as
    from one browser of many."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def pipe(source, sink) -> None:
    """Copy bytes from one socket to the other until either closes (a
    forwarder's half; run one thread each way)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


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


@contextmanager
def own_database(base_url: str, suffix: str):
    """An empty database beside ``base_url``'s, dropped afterwards."""
    parts = urlsplit(base_url)
    name = parts.path.lstrip("/") + suffix
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")

    def drop(connection) -> None:
        # Not WITH (FORCE): that needs a superuser when autovacuum is at work
        # on the database (after a million-row seed it often is). A plain DROP
        # stops autovacuum by itself; our own leftover sessions we end first.
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND usename = current_user"
            ),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    with admin.connect() as connection:
        drop(connection)
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with admin.connect() as connection:
            drop(connection)
        admin.dispose()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LoopbackStack:
    """Ports, files and processes of one running stack."""

    prefix: Path
    database_url: str
    app_env: dict[str, str]
    app_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    status_port: int = field(default_factory=free_port)
    hsts_max_age: int = 31_536_000
    max_content_length: int = 1024 * 1024
    # nginx's per-address limit on sign-in requests (production's by default).
    sign_in_rate: str = "30r/m"
    sign_in_burst: int = 20
    # And on searches (production's by default).
    search_rate: str = "60r/m"
    search_burst: int = 20
    redis_port: int = field(default_factory=free_port)
    # Proxies in front that end TLS (NGINX_FRONT_PROXIES), and nginx's plain
    # HTTP port for them; empty: nginx is the edge.
    front_proxies: str = ""
    front_proxy_protocol: bool = False  # they send the PROXY protocol header
    front_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def certs(self) -> Path:
        return self.prefix / "certs"

    @property
    def app_log(self) -> Path:
        return self.prefix / "app.log"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    @property
    def app(self) -> subprocess.Popen:
        return self.processes[1]  # after redis

    def flask_env(self) -> dict[str, str]:
        """The environment the web container would have."""
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "APP_DIR": str(WEB),
            "FLASK_APP": "bulletin",
            "FLASK_CONFIG": "production",
            "SECRET_KEY": self.app_env.get("SECRET_KEY") or secrets.token_urlsafe(48),
            "DATABASE_URL": self.database_url,
            "PROXY_HOPS": "1",
            "MAX_CONTENT_LENGTH": str(self.max_content_length),
            "GUNICORN_BIND": f"127.0.0.1:{self.app_port}",
            # Rate-limit counts shared by the workers, as in production.
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{self.redis_port}/0",
            # Links in mail: the address the tests browse, on nginx's https port.
            "SERVER_NAME": "127.0.0.1",
            "HTTPS_PORT": str(self.https_port),
            **self.app_env,
        }

    def start(self, nginx_workers: int = 2) -> None:
        """Certificates, then redis, the app and nginx; back when /healthz answers."""
        generate_local_certs.ensure_certificates(
            self.certs, generate_local_certs.parse_names("localhost", "")
        )
        self.app_env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        self._start_redis()
        self._start_app()
        self._write_nginx_config(nginx_workers)
        self._start_nginx()
        wait_for(self._app_healthy, 60, "gunicorn answering /healthz")
        self._start_worker()  # once migrated: the schema holds the queue

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.processes.append(
            subprocess.Popen(
                [redis, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
                + ["--appendonly", "no", "--dir", str(self.prefix)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def _start_app(self) -> None:
        """The web entrypoint (migrations, then gunicorn), as the image runs it."""
        with open(self.app_log, "w") as log:
            self.processes.append(
                subprocess.Popen(
                    [
                        "/bin/sh",
                        str(WEB / "entrypoint.sh"),
                        "gunicorn",
                        "--config",
                        "gunicorn.conf.py",
                        "bulletin.wsgi:app",
                    ],
                    env=self.flask_env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    @property
    def worker_log(self) -> Path:
        return self.prefix / "worker.log"

    def _start_worker(self) -> None:
        """The job worker, as the worker container runs it: mail goes out through it."""
        with open(self.worker_log, "w") as log:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "jobs", "worker"],
                    cwd=WEB,
                    env=self.flask_env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def _write_nginx_config(self, workers: int) -> None:
        """What the nginx image does at start: its scripts, then the templates."""
        # The image's start-up scripts write the snippets the templates include;
        # gunicorn is at a fixed address, so nginx resolves it once (keep-alive).
        for script in (
            "10-bulletin-server-names.sh",
            "15-bulletin-upstream.sh",
            "20-bulletin-mail-inbox.sh",
            "30-bulletin-front-proxy.sh",
        ):
            subprocess.run(
                [str(ROOT / "nginx/scripts" / script)],
                env={
                    **os.environ,
                    "PATH": f"{Path(NGINX).parent}:{os.environ['PATH']}",
                    "SERVER_NAME": "localhost",
                    "UPSTREAM": f"127.0.0.1:{self.app_port}",
                    "NGINX_RESOLVER": "",
                    "STATIC_ROOT": str(STATIC_ROOT),
                    "NGINX_ENVSUBST_OUTPUT_DIR": str(self.prefix / "conf.d"),
                    "NGINX_FRONT_PROXIES": self.front_proxies,
                    "NGINX_FRONT_PROXY_LISTEN": f"127.0.0.1:{self.front_port}",
                    "NGINX_FRONT_PROXY_PROTOCOL": "1" if self.front_proxy_protocol else "0",
                },
                check=True,
                capture_output=True,
            )
        render_templates(ROOT / "nginx/templates", self.prefix / "conf.d", self._nginx_variables())
        (self.prefix / "tmp").mkdir(exist_ok=True)
        (self.prefix / "acme").mkdir(exist_ok=True)
        # As root, the workers must still read the checkout under /work or /tmp.
        user = "user root;" if os.geteuid() == 0 else ""
        self.nginx_conf.write_text(
            NGINX_MAIN.format(user=user, prefix=self.prefix, workers=workers, error_level="info")
        )

    def _nginx_variables(self) -> dict[str, str]:
        """The templates' variables, as compose sets them, for these ports and files."""
        return {
            "SERVER_NAME": "localhost",
            "NGINX_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            "NGINX_HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "NGINX_STATUS_LISTEN": f"127.0.0.1:{self.status_port}",
            "HTTPS_PORT": str(self.https_port),
            "MAX_CONTENT_LENGTH": str(self.max_content_length),
            "TLS_CERTIFICATE": str(self.certs / "server/server.crt"),
            "TLS_CERTIFICATE_KEY": str(self.certs / "server/server.key"),
            "STATIC_ROOT": str(STATIC_ROOT),
            "PAGES_ROOT": str(ROOT / "nginx/html"),
            "ACME_WEBROOT": str(self.prefix / "acme"),
            "ACCESS_LOG": str(self.access_log),
            "NGINX_CACHE_PATH": str(self.prefix / "cache"),
            "HSTS_MAX_AGE": str(self.hsts_max_age),
            "NGINX_SIGN_IN_RATE": self.sign_in_rate,
            "NGINX_SIGN_IN_BURST": str(self.sign_in_burst),
            "NGINX_SEARCH_RATE": self.search_rate,
            "NGINX_SEARCH_BURST": str(self.search_burst),
        }

    @property
    def nginx_conf(self) -> Path:
        return self.prefix / "nginx.conf"

    def _start_nginx(self) -> None:
        conf = str(self.nginx_conf)
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.prefix), "-c", conf], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        self.processes.append(
            subprocess.Popen(
                [NGINX, "-p", str(self.prefix), "-c", conf],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def _app_healthy(self) -> bool:
        if self.app.poll() is not None:
            raise AssertionError(f"the web entrypoint exited:\n{self.app_log.read_text()[-3000:]}")
        return requests.get(f"http://127.0.0.1:{self.app_port}/healthz", timeout=2).ok

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)
