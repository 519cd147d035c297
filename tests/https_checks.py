"""The checks every HTTPS stack must pass, whoever started it.

tests/stack runs them against Debian's nginx and gunicorn on loopback;
tests/compose against the containers that `docker compose up` starts. Each
suite's conftest provides a ``stack`` fixture (a ``Stack``), and subclasses
``HttpsStackChecks`` to collect these tests.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from harness.waiting import wait_for
from tests.support import PASSWORD, csrf_token_in

PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP_DIRECTIVES = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
)


@dataclass
class Stack:
    """A running stack, as a client and an operator see it."""

    https_url: str  # https://host:port, as the browser sees it
    http_url: str  # the port-80 listener
    ca_file: Path  # the local CA that signed the server certificate
    hsts_max_age: int  # what Strict-Transport-Security must say
    max_content_length: int  # the body limit nginx and the app share
    nginx_log: Callable[[], str]
    app_log: Callable[[], str]
    last_mail_to: Callable[[str], str]  # the text body of the newest mail to an address
    source_address: str | None = None  # bind the client here (tells proxy and client apart)

    @property
    def public_host(self) -> str:
        return urlsplit(self.https_url).netloc

    def session(self) -> requests.Session:
        session = requests.Session()
        # Not the environment's CA bundle or proxies (requests would prefer them).
        session.trust_env = False
        session.verify = str(self.ca_file)
        return session

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session().get(self.https_url + path, allow_redirects=False, **kwargs)


def submit_form(
    stack: Stack, session: requests.Session, path: str, data: dict, *, referrer: bool = True
) -> requests.Response:
    """Post the form on ``path`` the way a browser does, Referer included."""
    url = stack.https_url + path
    token = csrf_token_in(session.get(url).text)
    headers = {"Referer": url} if referrer else {}
    return session.post(
        url, data={"csrf_token": token, **data}, headers=headers, allow_redirects=False
    )


def register_and_confirm(stack: Stack) -> tuple[requests.Session, str]:
    """A new confirmed account, signed in; returns its session and email."""
    name = "u" + uuid.uuid4().hex[:12]
    email = f"{name}@example.com"
    session = stack.session()
    response = submit_form(
        stack,
        session,
        "/auth/register",
        {"email": email, "username": name, "password": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.text[:500]
    link = re.search(r"https?://\S+/auth/confirm/\S+", stack.last_mail_to(email))
    assert link, "no confirmation link in the mail"
    assert link.group(0).startswith(f"https://{stack.public_host}/auth/confirm/"), link.group(0)
    login = submit_form(stack, session, "/auth/login", {"email": email, "password": PASSWORD})
    assert login.status_code == 302, login.text[:500]
    assert session.get(link.group(0), allow_redirects=False).status_code == 302
    return session, email


def run_sslyze(stack: Stack) -> subprocess.CompletedProcess:
    """sslyze's scan, checked against Mozilla's intermediate configuration."""
    parts = urlsplit(stack.https_url)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={stack.ca_file}",
            f"{parts.hostname}:{parts.port or 443}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


class HttpsStackChecks:
    """What issue 4 asks of the stack; ``stack`` comes from the suite's conftest."""

    def test_a_newcomer_confirms_from_the_mail_in_a_real_browser(self, stack: Stack, start_browser):
        """Chromium trusting the local CA registers through nginx; the worker
        sends the mail (MailDev's inbox in the compose stack), the browser
        follows its link and the account is confirmed."""
        from selenium.webdriver.common.by import By

        browser = start_browser(trusted_ca=stack.ca_file)
        name = "b" + uuid.uuid4().hex[:12]
        email = f"{name}@example.com"
        browser.get(stack.https_url + "/auth/register")
        for field, value in (
            ("email", email), ("username", name), ("password", PASSWORD), ("password2", PASSWORD)
        ):  # fmt: skip
            browser.find_element(By.NAME, field).send_keys(value)
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        wait_for(lambda: "/auth/register" not in browser.current_url, 30, "the registration")
        link = re.search(r"https?://\S+/auth/confirm/\S+", stack.last_mail_to(email))
        assert link, "no confirmation link in the mail"
        browser.get(link.group(0))  # asks to sign in first, then confirms
        browser.find_element(By.NAME, "email").send_keys(email)
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        wait_for(lambda: "Your account is confirmed" in browser.page_source, 30, "the confirmation")

    def test_passkeys_over_tls_in_a_real_browser(self, stack: Stack, start_browser):
        """Add a passkey, sign in with it alone and as the second step, remove it:
        Chromium trusting the local CA, on the stack's https port by name."""
        from tests.browser.passkey_journey import passkey_journey

        _, email = register_and_confirm(stack)
        parts = urlsplit(stack.https_url)
        base = f"https://localhost:{parts.port}"  # a relying party is a name, not an address
        browser = start_browser(trusted_ca=stack.ca_file)
        passkey_journey(browser, base, email=email, username=email.split("@")[0])

    def test_nginx_answers_its_own_health_check(self, stack: Stack):
        marker = f"/nginx-health?{uuid.uuid4().hex}"
        response = stack.get(marker)
        assert response.status_code == 200
        assert response.text == "ok\n"
        assert marker not in stack.app_log()  # nginx alone answered

    def test_http_redirects_to_https_with_host_path_and_query(self, stack: Stack):
        response = requests.get(
            stack.http_url + "/auth/login?next=%2Fuser%2Fx&a=1", allow_redirects=False, timeout=10
        )
        assert response.status_code in (301, 308)
        assert response.headers["Location"] == (
            f"{stack.https_url}/auth/login?next=%2Fuser%2Fx&a=1"
        )

    def test_acme_challenges_are_served_over_http(self, stack: Stack):
        # No challenge file exists now: a 404 from the webroot, not a redirect.
        response = requests.get(
            stack.http_url + "/.well-known/acme-challenge/none", allow_redirects=False, timeout=10
        )
        assert response.status_code == 404

    def test_tls_meets_mozilla_intermediate(self, stack: Stack):
        result = run_sslyze(stack)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert "OK - Compliant." in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
        assert re.search(
            r"TLS 1\.1 Cipher Suites:\s+Attempted to connect using \d+ cipher suites; "
            r"the server rejected all",
            result.stdout,
        ), "TLS 1.1 must be refused"
        for version in ("TLS 1.2", "TLS 1.3"):
            assert re.search(
                rf"\* {re.escape(version)} Cipher Suites:\s+Attempted to connect "
                r"using \d+ cipher suites\.\s+The server accepted",
                result.stdout,
            ), f"{version} not accepted"

    def test_http2_is_offered(self, stack: Stack):
        context = ssl.create_default_context(cafile=str(stack.ca_file))
        context.set_alpn_protocols(["h2", "http/1.1"])
        parts = urlsplit(stack.https_url)
        with (
            socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")

    def assert_security_headers(self, stack: Stack, response: requests.Response) -> None:
        where = f"{response.request.method} {response.url} ({response.status_code})"
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert f"max-age={stack.hsts_max_age}" in hsts, where
        assert "includeSubDomains" in hsts, where
        for name, value in PAGE_HEADERS.items():
            assert response.headers.get(name) == value, f"{name} on {where}"
        csp = response.headers.get("Content-Security-Policy", "")
        for directive in CSP_DIRECTIVES:
            assert directive in csp, f"{directive} missing on {where}: {csp}"
        assert response.headers.get("X-Request-ID"), where
        assert response.headers.get("Server") == "nginx", "server_tokens must be off"

    def test_security_headers_on_app_pages_errors_and_static(self, stack: Stack):
        home = stack.get("/")
        assert home.status_code == 200
        self.assert_security_headers(stack, home)
        missing = stack.get("/no/such/page")
        assert missing.status_code == 404
        self.assert_security_headers(stack, missing)
        static_path = re.search(r'href="(/static/[^"]+\.css\?v=[0-9a-f]+)"', home.text)
        assert static_path, "the layout links a versioned stylesheet"
        static = stack.get(static_path.group(1))
        assert static.status_code == 200
        self.assert_security_headers(stack, static)
        assert "max-age=31536000" in static.headers["Cache-Control"]
        static_missing = stack.get("/static/no-such-file.css")
        assert static_missing.status_code == 404
        self.assert_security_headers(stack, static_missing)

    def test_gzip_for_text(self, stack: Stack):
        response = stack.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == "gzip"

    def test_oversized_body_gets_413_with_headers(self, stack: Stack):
        body = b"x" * (stack.max_content_length + 1)
        response = stack.session().post(
            stack.https_url + "/auth/login",
            data=body,
            headers={"Content-Type": "text/plain"},
            allow_redirects=False,
        )
        assert response.status_code == 413
        self.assert_security_headers(stack, response)
        # Just under the limit, the app itself answers (here: no CSRF token),
        # every time: it reads the body it refuses, so gunicorn never closes the
        # connection under nginx's feet (which turned one answer in six into a 502).
        session = stack.session()
        statuses = [
            session.post(
                stack.https_url + "/auth/login",
                data=b"x" * (stack.max_content_length - 1024),
                headers={"Content-Type": "text/plain"},
                allow_redirects=False,
            ).status_code
            for _ in range(30)
        ]
        assert statuses == [400] * 30

    def test_cookies_are_secure(self, stack: Stack):
        response = stack.get("/auth/login")
        cookie = response.headers.get("Set-Cookie", "")
        assert cookie.startswith("session=")
        for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
            assert flag in cookie, cookie

    def test_login_over_https_passes_the_csrf_referrer_check(self, stack: Stack):
        session, email = register_and_confirm(stack)
        # The app checks the Referer on https, as Flask-WTF does by default.
        anonymous = stack.session()
        refused = submit_form(
            stack, anonymous, "/auth/login", {"email": email, "password": PASSWORD}, referrer=False
        )
        assert refused.status_code == 400
        assert "referrer" in refused.text.lower()
        accepted = submit_form(
            stack, anonymous, "/auth/login", {"email": email, "password": PASSWORD}
        )
        assert accepted.status_code == 302
        assert accepted.headers["Location"] in ("/", f"{stack.https_url}/")
        assert "Sign out" in anonymous.get(stack.https_url + "/").text

    def test_external_urls_are_https_with_the_public_host(self, stack: Stack):
        # The email link is checked in register_and_confirm; the API builds
        # absolute URLs with url_for(_external=True).
        session, email = register_and_confirm(stack)
        token = (
            stack.session()
            .post(stack.https_url + "/api/v1/tokens", auth=(email, PASSWORD))
            .json()["token"]
        )
        created = stack.session().post(
            stack.https_url + "/api/v1/tasks",
            json={"title": "proxy check"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["uri"].startswith(f"https://{stack.public_host}/api/v1/tasks/")

    @pytest.mark.parametrize("scheme", ["https", "http"])
    def test_an_unknown_host_gets_the_connection_closed(self, stack: Stack, scheme: str):
        url = stack.https_url if scheme == "https" else stack.http_url
        session = stack.session()
        # nginx's default server answers 444: no response at all, so the
        # client sees the connection end.
        with pytest.raises(requests.ConnectionError):
            session.get(
                url + "/auth/reset", headers={"Host": "attacker.example"}, allow_redirects=False
            )
        assert session.get(url + "/auth/reset", allow_redirects=False).status_code in (200, 308)

    def test_reset_link_names_the_public_host_whatever_the_client_sends(self, stack: Stack):
        """Password-reset poisoning through nginx: a forged X-Forwarded-Host is
        replaced by nginx, and the app builds mail links from SERVER_NAME only."""
        _, email = register_and_confirm(stack)
        session = stack.session()
        session.headers["X-Forwarded-Host"] = "attacker.example"
        response = submit_form(stack, session, "/auth/reset", {"email": email})
        assert response.status_code == 302, response.text[:300]
        # The confirmation mail came first: wait for the reset mail itself.
        wait_for(lambda: "/auth/reset/" in stack.last_mail_to(email), 15, "the reset mail")
        mail = stack.last_mail_to(email)
        link = re.search(r"https?://\S+/auth/reset/\S+", mail)
        assert link, mail
        assert link.group(0).startswith(f"https://{stack.public_host}/auth/reset/")
        assert "attacker.example" not in mail

    def test_emailed_link_tokens_stay_out_of_nginx_and_app_logs(self, stack: Stack):
        secret = "s3cret-" + uuid.uuid4().hex
        paths = [
            f"/auth/reset/{secret}a",
            f"/auth/login?next=%2Fauth%2Fconfirm%2F{secret}b",
            f"/auth/change-email/{secret}c?next=%252Fauth%252Freset%252F{secret}d",
        ]
        session = stack.session()
        for path in paths:
            session.get(stack.https_url + path, allow_redirects=False)
        wait_for(lambda: stack.nginx_log().count("[redacted]") >= 4, 10, "redacted lines")
        assert secret not in stack.nginx_log()
        assert secret not in stack.app_log()

    def test_one_request_id_in_nginx_and_app_logs_and_the_real_client_address(self, stack: Stack):
        parts = urlsplit(stack.https_url)
        context = ssl.create_default_context(cafile=str(stack.ca_file))
        source = (stack.source_address, 0) if stack.source_address else None
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port or 443, context=context, source_address=source, timeout=10
        )
        # A forged header: nginx appends the real address, and the app trusts one hop.
        connection.request("GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
        response = connection.getresponse()
        request_id = response.getheader("X-Request-ID")
        connection.close()
        assert response.status == 200
        assert request_id
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)

        def both_logged() -> bool:
            return request_id in stack.nginx_log() and request_id in stack.app_log()

        wait_for(both_logged, 10, f"request id {request_id} in both logs")
        nginx_line = next(line for line in stack.nginx_log().splitlines() if request_id in line)
        app_line = next(line for line in stack.app_log().splitlines() if request_id in line)
        client = nginx_line.split()[0]  # nginx's $remote_addr: the real client
        if stack.source_address:
            assert client == stack.source_address
        # gunicorn's access line: JSON with LOG_FORMAT=json (production), else text.
        if app_line.startswith("{"):
            address = json.loads(app_line)["remote_addr"]
        else:
            address = app_line.split()[0]
        assert address == client, (nginx_line, app_line)
        assert "203.0.113.7" not in app_line

    def test_json_errors_through_the_proxy(self, stack: Stack):
        response = stack.get("/api/v1/tasks")
        assert response.status_code == 401
        body = response.json()
        assert body["error"]
        assert body["message"]
        assert json.dumps(body)


class PageCacheChecks:
    """nginx's cache of pages for visitors (nginx/templates/snippets/page-cache), on a
    stack running the production config (PAGE_CACHE_SECONDS 2); the development
    stack caches nothing, which tests/compose checks."""

    def test_visitors_share_a_page_and_the_signed_in_never_get_it(self, stack: Stack):
        probe = f"/?probe={uuid.uuid4().hex}"  # a page no other test has cached
        first, second = stack.get(probe), stack.get(probe)
        assert first.headers["X-Cache-Status"] == "MISS"
        assert second.headers["X-Cache-Status"] == "HIT"
        assert "public" in second.headers["Cache-Control"]
        assert "s-maxage=" in second.headers["Cache-Control"]
        assert "Set-Cookie" not in first.headers
        assert "Set-Cookie" not in second.headers
        assert "Sign in" in second.text
        readers = [register_and_confirm(stack) for _ in range(2)]
        for _ in range(2):
            for session, email in readers:
                page = session.get(stack.https_url + probe, allow_redirects=False)
                assert page.headers["X-Cache-Status"] == "BYPASS"
                assert "private" in page.headers["Cache-Control"]
                names = re.findall(r'href="/user/(u[0-9a-f]{12})">Profile', page.text)
                assert names == [email.split("@")[0]], names
        # What the signed-in were sent was not kept for visitors either.
        after = stack.get(probe)
        assert after.headers["X-Cache-Status"] in {"HIT", "EXPIRED", "MISS"}
        assert "Sign in" in after.text
        assert "Set-Cookie" not in after.headers
        assert not any(email.split("@")[0] in after.text for _, email in readers)

    def test_a_crowd_of_visitors_costs_the_app_one_request(self, stack: Stack):
        probe = f"/?crowd={uuid.uuid4().hex}"
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: stack.get(probe), range(40)))
        assert all(a.status_code == 200 and "Set-Cookie" not in a.headers for a in answers)
        wait_for(lambda: stack.nginx_log().count(probe) == 40, 10, "nginx logging 40 requests")
        assert stack.app_log().count(probe) == 1

    def test_a_new_post_reaches_visitors_within_the_lifetime(self, stack: Stack):
        probe = f"/?fresh={uuid.uuid4().hex}"
        stack.get(probe)
        cached = stack.get(probe)
        assert cached.headers["X-Cache-Status"] == "HIT"
        lifetime = int(re.search(r"s-maxage=(\d+)", cached.headers["Cache-Control"]).group(1))
        session, _ = register_and_confirm(stack)
        body = f"news {uuid.uuid4().hex}"
        assert submit_form(stack, session, "/", {"body": body}).status_code == 302
        # Every copy made before the post expires one lifetime later and the
        # next visitor's request goes to the app. nginx keeps time by the wall
        # clock, which a VM may step: a few seconds' margin, polled.
        posted = time.monotonic()
        seen: list[requests.Response] = []

        def shown() -> bool:
            seen.append(stack.get(probe))
            return body in seen[-1].text

        wait_for(shown, lifetime + 5, "the new post on a visitor's home page")
        assert time.monotonic() - posted < lifetime + 5
        assert all("Set-Cookie" not in page.headers for page in seen)

    def test_the_api_and_other_pages_are_never_cached(self, stack: Stack):
        for path in ("/api/v1/openapi.json", "/auth/login", "/search?q=cache"):
            for _ in range(2):
                assert "X-Cache-Status" not in stack.get(path).headers, path
