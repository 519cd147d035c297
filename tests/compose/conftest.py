"""The stack as users run it: `docker compose up` from this checkout.

Needs a Docker engine and the images named in docker-compose.yml; on this
team's machines ../shared/docker/build-standin-images provides both. The
stack runs as its own compose project on free ports, and is removed, volumes
included, at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from harness.compose import Compose, compose_command, docker_missing, started
from harness.waiting import wait_for
from tests.browser.chromium import start_browser
from tests.https_checks import Stack

# Chromium for the shared browser check (tests/https_checks.py).
__all__ = ["start_browser"]

PROJECT = "bulletintest"


def last_mail_in(compose: Compose, address: str) -> str:
    """The text of the newest mail to ``address`` in the development stack's
    MailDev, read through nginx over TLS from its REST API, as a phone on the
    LAN that trusts the local CA would read it."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(compose.local_certs / "ca.crt")
    inbox = f"https://localhost:{compose.ports['HTTPS_PORT']}/maildev/email"
    found: list[dict] = []

    def arrived() -> bool:
        mails = session.get(inbox, timeout=5).json()
        found[:] = [m for m in mails if any(to["address"] == address for to in m["to"])]
        return bool(found)

    # The worker sends it: give it the time a container takes to start.
    wait_for(arrived, 60, f"a mail to {address} in MailDev ({inbox})")
    return found[-1]["text"]  # MailDev lists mails as they came; times tie within a second


@pytest.fixture(scope="session")
def compose_cli() -> list[str]:
    command = compose_command()
    if command is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed "
            "(../shared/docker/build-standin-images installs them)"
        )
    reason = docker_missing()
    if reason:
        pytest.skip(reason)
    return command


@pytest.fixture(scope="session")
def compose(compose_cli, tmp_path_factory) -> Iterator[Compose]:
    with started(
        compose_cli,
        PROJECT,
        tmp_path_factory.mktemp("compose"),
        {
            "AUTH_RATE_LIMIT": "1000/minute",
            "NGINX_SIGN_IN_RATE": "100r/s",
            "NGINX_SIGN_IN_BURST": "1000",
            "GUNICORN_WORKERS": "2",
        },
    ) as project:
        yield project


@pytest.fixture(scope="session")
def stack(compose: Compose) -> Stack:
    return Stack(
        https_url=f"https://localhost:{compose.ports['HTTPS_PORT']}",
        http_url=f"http://localhost:{compose.ports['HTTP_PORT']}",
        ca_file=compose.local_certs / "ca.crt",
        hsts_max_age=300,  # the development stack's
        max_content_length=1024 * 1024,
        nginx_log=lambda: compose.logs("nginx"),
        app_log=lambda: compose.logs("web"),
        last_mail_to=lambda address: last_mail_in(compose, address),
    )
