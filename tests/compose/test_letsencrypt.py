"""Let's Encrypt end to end, against Pebble (Let's Encrypt's ACME test server).

The stack runs with COMPOSE_PROFILES=letsencrypt and ACME_SERVER pointing at
Pebble on the compose network, where bulletin.test and www.bulletin.test are
nginx's aliases: certbot obtains a real certificate through nginx's port 80,
and nginx switches to it by itself.
"""

from __future__ import annotations

import http.client
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.compose import PRODUCTION, Compose, started
from harness.waiting import wait_for

DOMAINS = {"bulletin.test", "www.bulletin.test"}
FILES = (*PRODUCTION, "tests/compose/pebble.yml")


def served_certificate(port: int) -> x509.Certificate:
    """The certificate nginx sends for bulletin.test (not verified: Pebble's
    roots change with every Pebble start)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="bulletin.test") as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def issuer_name(certificate: x509.Certificate) -> str:
    return certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def letsencrypt(compose_cli, tmp_path_factory) -> Iterator[Compose]:
    with started(
        compose_cli,
        "bulletinle",
        tmp_path_factory.mktemp("letsencrypt"),
        {
            "COMPOSE_PROFILES": "letsencrypt",
            # Production, as a real Let's Encrypt site runs.
            "SECRET_KEY": secrets.token_urlsafe(48),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "SERVER_NAME": "bulletin.test",
            "LETSENCRYPT_DOMAINS": "www.bulletin.test",
            "LETSENCRYPT_EMAIL": "ops@bulletin.test",
            "ACME_SERVER": "https://pebble:14000/dir",
            "TLS_WATCH_INTERVAL": "2",
            "GUNICORN_WORKERS": "2",
        },
        FILES,
        profiles=("letsencrypt",),
        healthy=("nginx",),
    ) as project:
        yield project


def https_port(project: Compose) -> int:
    return int(project.ports["HTTPS_PORT"])


def wait_for_pebble_certificate(project: Compose) -> x509.Certificate:
    def from_pebble() -> bool:
        return issuer_name(served_certificate(https_port(project))).startswith("Pebble")

    try:
        wait_for(from_pebble, 120, "nginx serving a certificate from Pebble")
    except AssertionError as error:
        raise AssertionError(
            f"{error}\n{project.logs('certbot')[-4000:]}\n{project.logs('nginx')[-2000:]}"
        ) from None
    return served_certificate(https_port(project))


def test_certbot_obtains_a_certificate_and_nginx_switches_to_it(letsencrypt: Compose):
    certificate = wait_for_pebble_certificate(letsencrypt)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert set(names.value.get_values_for_type(x509.DNSName)) == DOMAINS
    nginx_log = letsencrypt.logs("nginx")
    assert "no Let's Encrypt certificate in /etc/letsencrypt/live/bulletin yet" in nginx_log
    assert "certificate changed: reloaded nginx with /etc/letsencrypt/live/bulletin" in nginx_log
    assert "letsencrypt: certificate for bulletin.test www.bulletin.test is current" in (
        letsencrypt.logs("certbot")
    )


def test_forced_renewal_is_served_with_no_failed_request(letsencrypt: Compose):
    before = wait_for_pebble_certificate(letsencrypt)
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        while not stop.is_set():
            connection = http.client.HTTPSConnection(
                "127.0.0.1", https_port(letsencrypt), context=context, timeout=10
            )
            try:
                connection.request("GET", "/healthz", headers={"Host": "bulletin.test"})
                status = connection.getresponse().status
                if status == 200:
                    answered += 1
                else:
                    failures.append(f"status {status}")
            except OSError as error:
                failures.append(repr(error))
            finally:
                connection.close()
            stop.wait(0.05)  # a steady client, not a flood that starves certbot

    client = threading.Thread(target=keep_asking)
    client.start()
    try:
        # Without a terminal certbot renew waits up to 8 minutes first, to
        # spread load on Let's Encrypt; a test has no need for that.
        letsencrypt.run(
            "exec",
            "-T",
            "certbot",
            "certbot",
            "renew",
            "--force-renewal",
            "--non-interactive",
            "--no-random-sleep-on-renew",
        )
        wait_for(
            lambda: (
                served_certificate(https_port(letsencrypt)).serial_number != before.serial_number
            ),
            60,
            "nginx serving the renewed certificate",
        )
        time.sleep(2)  # and a little after the reload
    finally:
        stop.set()
        client.join(timeout=30)
    after = served_certificate(https_port(letsencrypt))
    assert issuer_name(after).startswith("Pebble")
    assert failures == []
    assert answered > 20, "the client loop ran throughout the renewal"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("LETSENCRYPT_DOMAINS", "www.bulletin.test,nowhere.bulletin.invalid"),
        ("ACME_SERVER", "https://pebble:14999/dir"),
    ],
    ids=["wrong domain", "unreachable ACME server"],
)
def test_a_failed_attempt_says_why_and_keeps_the_current_certificate(
    letsencrypt: Compose, setting, value
):
    before = wait_for_pebble_certificate(letsencrypt)
    result = letsencrypt.run(
        "run",
        "--rm",
        "--no-deps",
        "-e",
        f"{setting}={value}",
        "certbot",
        "once",
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "letsencrypt: could not obtain a certificate for bulletin.test" in output, output[-3000:]
    assert "nginx keeps serving its current certificate" in output
    time.sleep(5)  # longer than nginx's watch interval
    assert served_certificate(https_port(letsencrypt)).serial_number == before.serial_number
