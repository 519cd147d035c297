"""The stack as users run it: `docker compose up` from this checkout.

Needs a Docker engine and the images named in docker-compose.yml; on this
team's machines ../shared/docker/build-standin-images provides both. The
stack runs as its own compose project on free ports, and is removed, volumes
included, at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.compose import Compose, compose_command, docker_missing, started
from harness.waiting import wait_for
from tests.https_checks import Stack

PROJECT = "bulletintest"


def last_mail_in(compose: Compose, address: str) -> str:
    """Development mail goes to the web log; the message's text follows its To: line."""
    marker = f"To: {address}"

    def logged() -> bool:
        return marker in compose.logs("web")

    wait_for(logged, 15, f"a mail to {address} in the web log")
    log = compose.logs("web")
    return log[log.rindex(marker) :]


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
