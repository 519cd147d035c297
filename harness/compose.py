"""A compose project of this checkout, driven the way a user's shell does.

Used by the compose tests and by the benchmark (python -m loadtests.benchmark --stack compose).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.waiting import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
# docker-compose.yml alone is production; Compose adds the override by itself
# when no file is named, which is the development stack.
PRODUCTION = ("docker-compose.yml",)
DEVELOPMENT = ("docker-compose.yml", "docker-compose.override.yml")
BASE_IMAGES = (
    "python:3.12-slim-bookworm",
    "postgres:16-bookworm",
    "nginx:1.27-bookworm",
    "redis:7-bookworm",
)


def docker_missing() -> str | None:
    """Why the Docker suites cannot run here (no engine, base images missing), or None."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return (
            "no Docker engine answers (start one, e.g. with "
            "../shared/docker/build-standin-images --engine)"
        )
    missing = [
        image
        for image in BASE_IMAGES
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode
    ]
    if missing:
        return (
            f"base images missing: {', '.join(missing)} (docker pull them, or on "
            "this team's machines run ../shared/docker/build-standin-images)"
        )
    return None


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever answers."""
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


class Compose:
    """One compose project of this checkout, driven like a user's shell does."""

    def __init__(
        self,
        command: list[str],
        project: str,
        env_file: Path,
        files: tuple[str, ...] = DEVELOPMENT,
        profiles: tuple[str, ...] = (),
        root: Path = ROOT,
    ) -> None:
        self.base = [*command, "--env-file", str(env_file), "-p", project]
        for name in files:
            self.base += ["-f", str(root / name)]
        for profile in profiles:
            self.base += ["--profile", profile]
        self.project = project
        self.root = root
        self.ports: dict[str, str] = {}  # set by started()
        self.local_certs: Path | None = None

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, **kwargs
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self.base, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def logs(self, service: str) -> str:
        return self.run("logs", "--no-color", "--no-log-prefix", service).stdout

    def exec_in(self, service: str, *args: str) -> str:
        """Run a command in the service's first container, whatever its number
        (compose v1's `exec` wants container 1, which an update replaces)."""
        return subprocess.run(
            ["docker", "exec", self.containers(service)[0], *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).stdout.split()

    def address(self, service: str, network: str = "front") -> str:
        """The container's address on one of the project's networks (front: where
        nginx meets web), which the host reaches directly (no port publishing,
        no userland proxy in between)."""
        inspected = json.loads(
            subprocess.run(
                ["docker", "inspect", self.containers(service)[0]],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )[0]
        networks = inspected["NetworkSettings"]["Networks"]
        return networks[f"{self.project}_{network}"]["IPAddress"]

    def health(self, service: str) -> list[str]:
        states = []
        for container in self.containers(service):
            inspected = json.loads(
                subprocess.run(
                    ["docker", "inspect", container], capture_output=True, text=True
                ).stdout
            )[0]
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


def copy_checkout(target: Path) -> Path:
    """This checkout's files (committed or not, ignored ones left out), for a
    test that builds a changed release without touching the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


# Settings that are files of SECRETS_DIR in the stack, never variables.
SECRET_SETTINGS = ("SECRET_KEY", "POSTGRES_PASSWORD")


def make_secrets(folder: Path, settings: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """Write the stack's secret files into ``folder`` with deploy/compose/make-secrets,
    as an operator does, taking SECRET_KEY and POSTGRES_PASSWORD from ``settings``
    (random when absent); the settings without them, and SECRETS_DIR."""
    values = {name: settings[name] for name in SECRET_SETTINGS if name in settings}
    subprocess.run(
        [str(root / "deploy/compose/make-secrets")],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "SECRETS_DIR": str(folder / "secrets"), **values},
        check=True,
        capture_output=True,
    )
    rest = {name: value for name, value in settings.items() if name not in SECRET_SETTINGS}
    return {**rest, "SECRETS_DIR": str(folder / "secrets")}


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


@contextmanager
def started(
    command: list[str],
    project: str,
    folder: Path,
    settings: dict[str, str],
    files: tuple[str, ...] = DEVELOPMENT,
    profiles: tuple[str, ...] = (),
    healthy: tuple[str, ...] = ("web", "nginx"),
    root: Path = ROOT,
) -> Iterator[Compose]:
    """A fresh project on free ports with its own local CA in ``folder``, built from
    this checkout, and removed afterwards, volumes included."""
    ports = {"HTTP_PORT": str(free_port()), "HTTPS_PORT": str(free_port())}
    env_file = write_env_file(
        folder / "env",
        {
            **ports,
            # Its own local CA, not the one in this checkout's certs/local.
            "LOCAL_CERTS_DIR": str(folder / "local-certs"),
            # Its own secret files (production reads them; development has its own).
            **make_secrets(folder, settings, root),
        },
    )
    compose = Compose(command, project, env_file, files, profiles, root)
    compose.ports = ports
    compose.local_certs = folder / "local-certs"
    compose.run("down", "--volumes", "--remove-orphans", check=False)
    try:
        # Built first: docker-compose 1.x's `up --build` may reach the worker,
        # which runs web's image and has no build of its own, before building
        # web, and then tries to pull that image from a registry.
        compose.run("build", timeout=1200)
        compose.run("up", "-d", timeout=1200)
        for service in healthy:
            compose.wait_healthy(service)
        yield compose
    finally:
        compose.run("down", "--volumes", "--remove-orphans", check=False)
