"""The HTTPS stack without Docker (harness/loopback.py), with a real SMTP
server to receive its mail."""

from __future__ import annotations

import email
import os
import re
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from harness.loopback import LoopbackStack, missing_parts, own_database
from harness.waiting import free_port, wait_for
from tests.browser.chromium import start_browser
from tests.https_checks import Stack

# Chromium for the browser-over-TLS tests (test_browser_https.py).
__all__ = ["start_browser"]


class Mailbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
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


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    if reason := missing_parts():
        pytest.skip(reason)
    database_url = os.environ["TEST_DATABASE_URL"]
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with own_database(database_url, "_stack") as stack_database_url:
        loopback = LoopbackStack(
            tmp_path_factory.mktemp("stack"),
            stack_database_url,
            {
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp.port),
                "MAIL_USE_TLS": "false",
                "AUTH_RATE_LIMIT": "1000/minute",
                "GUNICORN_WORKERS": "2",
            },
            # Every test here signs in from loopback: nginx's limit is tested apart.
            sign_in_rate="100r/s",
            sign_in_burst=1000,
        )
        try:
            loopback.start()
            yield Stack(
                https_url=f"https://127.0.0.1:{loopback.https_port}",
                http_url=f"http://127.0.0.1:{loopback.http_port}",
                ca_file=loopback.certs / "ca.crt",
                hsts_max_age=loopback.hsts_max_age,
                max_content_length=loopback.max_content_length,
                nginx_log=lambda: (
                    loopback.access_log.read_text() if loopback.access_log.exists() else ""
                ),
                app_log=loopback.app_log.read_text,
                last_mail_to=mailbox.last_to,
                source_address="127.0.0.2",
            )
        finally:
            loopback.stop()
            smtp.stop()


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
