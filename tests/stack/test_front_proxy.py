"""TLS ended in front of nginx (NGINX_FRONT_PROXIES): a second nginx ends TLS
and passes plain HTTP on, as a host's reverse proxy or a load balancer does.
The app's sign-in limit and nginx's log see the outer client's address; a
request that does not come from the configured proxy cannot set it.

Loopback has many addresses: the browsers here are 127.0.0.5 and up, the
proxy in front connects from 127.0.0.2, the one address nginx believes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from harness.loopback import NGINX, LoopbackStack, own_database
from harness.waiting import free_port, wait_for

PROXY_ADDRESS = "127.0.0.2"
OUTER = """\
{user}
worker_processes 1;
pid {prefix}/outer.pid;
error_log {prefix}/outer-error.log info;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/outer-access.log;
    client_body_temp_path {prefix}/outer-tmp;
    proxy_temp_path {prefix}/outer-tmp;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {certs}/server/server.crt;
        ssl_certificate_key {certs}/server/server.key;
        location / {{
            proxy_pass http://127.0.0.1:{inner};
            proxy_bind {proxy_address};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""


class From(HTTPAdapter):
    """Connections from one loopback address, as from one browser."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def fronted(tmp_path_factory) -> Iterator[tuple[LoopbackStack, int]]:
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    database_url = os.environ.get("TEST_DATABASE_URL", "")
    if not database_url:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL (see .ci/run)")
    with own_database(database_url, "_front") as url:
        inner = LoopbackStack(
            tmp_path_factory.mktemp("fronted"),
            url,
            {"AUTH_RATE_LIMIT": "3/minute"},
            sign_in_rate="100r/s",
            sign_in_burst=1000,
            front_proxies=PROXY_ADDRESS,
        )
        outer_port = free_port()
        prefix = inner.prefix
        (prefix / "outer-tmp").mkdir()
        conf = prefix / "outer.conf"
        conf.write_text(
            OUTER.format(
                user="user root;" if os.geteuid() == 0 else "",
                prefix=prefix, port=outer_port, certs=inner.certs,
                inner=inner.front_port, proxy_address=PROXY_ADDRESS,
            )
        )  # fmt: skip
        try:
            inner.start()
            outer = subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(conf)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            inner.processes.append(outer)
            wait_for(lambda: (prefix / "outer.pid").exists(), 10, "the nginx in front")
            yield inner, outer_port
        finally:
            inner.stop()


def browser(address: str, ca_file: Path) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_file)
    session.mount("https://", From(address))
    session.mount("http://", From(address))
    return session


def token_request(session: requests.Session, url: str, **headers: str) -> int:
    answer = session.post(
        url + "/api/v1/tokens", auth=("nobody@example.com", "wrong"), headers=headers, timeout=10
    )
    return answer.status_code


def test_the_app_and_nginx_see_the_client_behind_the_proxy(fronted):
    inner, outer_port = fronted
    url = f"https://localhost:{outer_port}"
    first = browser("127.0.0.5", inner.certs / "ca.crt")
    page = first.get(url + "/", timeout=10)
    assert page.status_code == 200
    # The browser spoke https to the proxy: HSTS still reaches it.
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    # The app's sign-in limit (3 a minute) counts this browser...
    assert [token_request(first, url) for _ in range(3)] == [401, 401, 401]
    assert token_request(first, url) == 429
    # ...not the proxy all browsers share: another one is still answered.
    assert token_request(browser("127.0.0.6", inner.certs / "ca.crt"), url) == 401
    log = inner.access_log.read_text()
    assert "\n127.0.0.5 " in "\n" + log
    assert PROXY_ADDRESS not in log


def test_only_the_configured_proxy_may_use_its_port(fronted):
    inner, _ = fronted
    stranger = browser("127.0.0.7", inner.certs / "ca.crt")
    with pytest.raises(requests.ConnectionError):
        # nginx closes the connection without a word (444).
        stranger.get(f"http://localhost:{inner.front_port}/", timeout=10)


def test_a_client_cannot_claim_another_address(fronted):
    inner, _ = fronted
    url = f"https://localhost:{inner.https_port}"
    liar = browser("127.0.0.8", inner.certs / "ca.crt")
    # Straight to nginx, each time claiming to be someone else: all count as 127.0.0.8.
    claims = [token_request(liar, url, **{"X-Forwarded-For": f"10.0.0.{n}"}) for n in range(4)]
    assert claims == [401, 401, 401, 429]
