"""The stack as users run it: `docker compose up` from this checkout.

Needs a Docker engine and the images named in docker-compose.yml; on this
team's machines ../shared/docker/build-standin-images provides both. The
stack runs as its own compose project on free ports, and is removed, volumes
included, at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.https_checks import Stack, wait_for
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGES = ("python:3.12-slim-bookworm", "postgres:16-bookworm", "nginx:1.27-bookworm")
PROJECT = "bulletintest"


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever answers."""
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


class Compose:
    """One compose project of this checkout, driven like a user's shell does."""

    def __init__(self, command: list[str], project: str, env_file: Path,
                 files: tuple[str, ...] = ("docker-compose.yml",),
                 profiles: tuple[str, ...] = ()) -> None:
        self.base = [*command, "--env-file", str(env_file), "-p", project]
        for name in files:
            self.base += ["-f", str(ROOT / name)]
        for profile in profiles:
            self.base += ["--profile", profile]
        self.project = project

    def run(self, *args: str, check: bool = True, timeout: float = 600,
            **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.base, *args], cwd=ROOT, capture_output=True, text=True,
                                timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def logs(self, service: str) -> str:
        return self.run("logs", "--no-color", "--no-log-prefix", service).stdout

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).stdout.split()

    def health(self, service: str) -> list[str]:
        states = []
        for container in self.containers(service):
            inspected = json.loads(subprocess.run(
                ["docker", "inspect", container], capture_output=True, text=True).stdout)[0]
            states.append(inspected["State"].get("Health", {}).get("Status", "none"))
        return states

    def wait_healthy(self, service: str, replicas: int = 1, timeout: float = 180) -> None:
        def ready() -> bool:
            states = self.health(service)
            return len(states) == replicas and all(s == "healthy" for s in states)

        try:
            wait_for(ready, timeout, f"{replicas} healthy {service}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs(service)[-4000:]}") from None


def last_mail_in(compose: Compose, address: str) -> str:
    """Development mail goes to the web log; the message's text follows its To: line."""
    marker = f"To: {address}"

    def logged() -> bool:
        return marker in compose.logs("web")

    wait_for(logged, 15, f"a mail to {address} in the web log")
    log = compose.logs("web")
    return log[log.rindex(marker):]


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


@pytest.fixture(scope="session")
def compose_cli() -> list[str]:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed "
                    "(../shared/docker/build-standin-images installs them)")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker engine answers (start one, e.g. with "
                    "../shared/docker/build-standin-images --engine)")
    missing = [image for image in BASE_IMAGES if subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True).returncode != 0]
    if missing:
        pytest.skip(f"base images missing: {', '.join(missing)} (docker pull them, or on "
                    "this team's machines run ../shared/docker/build-standin-images)")
    return command


@pytest.fixture(scope="session")
def compose(compose_cli, tmp_path_factory) -> Iterator[Compose]:
    folder = tmp_path_factory.mktemp("compose")
    ports = {"HTTP_PORT": str(free_port()), "HTTPS_PORT": str(free_port())}
    env_file = write_env_file(folder / "env", {
        **ports,
        # The test's own local CA, not the one in this checkout's certs/local.
        "LOCAL_CERTS_DIR": str(folder / "local-certs"),
        "AUTH_RATE_LIMIT": "1000/minute",
        "GUNICORN_WORKERS": "2",
    })
    project = Compose(compose_cli, PROJECT, env_file)
    project.ports = ports
    project.local_certs = folder / "local-certs"
    project.run("down", "--volumes", "--remove-orphans", check=False)
    project.run("up", "-d", "--build", timeout=1200)
    try:
        project.wait_healthy("web")
        project.wait_healthy("nginx")
        yield project
    finally:
        project.run("down", "--volumes", "--remove-orphans", check=False)


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
