"""TLS ended in front of nginx (NGINX_FRONT_PROXIES): a second nginx ends TLS
and passes plain HTTP on with X-Forwarded-For, as a host's reverse proxy
does; or a TCP proxy ends TLS and sends the PROXY protocol header, as a load
balancer does (NGINX_FRONT_PROXY_PROTOCOL=1). The app's sign-in limit and
nginx's log see the outer client's address; a request that does not come
from the configured proxy cannot set it.

Loopback has many addresses: the browsers here are 127.0.0.5 and up, the
proxy in front connects from 127.0.0.2, the one address nginx believes."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.loopback import NGINX, FromAddress, LoopbackStack, missing_parts, own_database, pipe
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


class ProxyProtocolFront:
    """A TCP proxy that ends TLS and opens each upstream connection with the
    PROXY protocol's v1 line, from PROXY_ADDRESS."""

    def __init__(self, certs: Path, inner: int) -> None:
        self.inner = inner
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certs / "server/server.crt", certs / "server/server.key")
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, (address, port) = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, address, port), daemon=True).start()

    def _serve(self, client: socket.socket, address: str, port: int) -> None:
        try:
            tls = self.context.wrap_socket(client, server_side=True)
            upstream = socket.create_connection(
                ("127.0.0.1", self.inner), source_address=(PROXY_ADDRESS, 0)
            )
        except OSError:
            client.close()
            return
        upstream.sendall(f"PROXY TCP4 {address} 127.0.0.1 {port} {self.inner}\r\n".encode())
        for source, sink in ((tls, upstream), (upstream, tls)):
            threading.Thread(target=pipe, args=(source, sink), daemon=True).start()

    def stop(self) -> None:
        self.server.close()


@pytest.fixture(scope="module", params=["x-forwarded-for", "proxy-protocol"])
def fronted(request, tmp_path_factory) -> Iterator[tuple[LoopbackStack, int]]:
    if reason := missing_parts():
        pytest.skip(reason)
    with own_database(os.environ["TEST_DATABASE_URL"], "_front") as url:
        inner = LoopbackStack(
            tmp_path_factory.mktemp("fronted"),
            url,
            {"AUTH_RATE_LIMIT": "3/minute"},
            sign_in_rate="100r/s",
            sign_in_burst=1000,
            front_proxies=PROXY_ADDRESS,
            front_proxy_protocol=request.param == "proxy-protocol",
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
            if request.param == "proxy-protocol":
                front = ProxyProtocolFront(inner.certs, inner.front_port)
                yield inner, front.port
                front.stop()
                return
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
    session.mount("https://", FromAddress(address))
    session.mount("http://", FromAddress(address))
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
