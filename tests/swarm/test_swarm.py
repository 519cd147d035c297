"""Bulletin on a real Docker Swarm, deployed as an operator would: this
machine's engine becomes a one-node swarm, deploy/swarm/swarm-deploy builds
the images and deploys deploy/swarm/stack.yml, and every check goes through
nginx and TLS on the ports the stack publishes.

The engine is left as it was found: the stack, its volumes and the images made
here are removed, and the engine leaves the swarm (the tests skip when it is
already in one, rather than touch a swarm they did not make). One run at a time
holds the engine, and a swarm that a killed run left is known by its node label
and taken down first, so it cannot fail the next run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from harness.compose import docker_missing
from harness.traffic import Traffic
from harness.waiting import free_port, wait_for
from tests.support import SignUps, csrf_token_in

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/swarm/swarm-deploy"
STACK = "bulletinswarm"
PASSWORD = "a-swarm-password"
ADMIN = "admin@example.com"
MAILDEV = f"{STACK}_maildev"
# Held while a run owns the engine: a second run (a CI job beside a local one) waits.
ENGINE_LOCK = Path(tempfile.gettempdir()) / "bulletin-swarm-tests.lock"
# The node label that marks a swarm these tests made; its value says whether
# they also made docker_gwbridge, which swarm init creates when it is missing.
MADE_HERE = "bulletin.tests.swarm"


def docker(*args: str, check: bool = True, input: str | None = None) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, input=input, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {result.stderr or result.stdout}")
    return result.stdout.strip()


@dataclass
class SwarmStack:
    env: dict[str, str]
    ca_file: Path

    @property
    def https_url(self) -> str:
        return f"https://localhost:{self.env['HTTPS_PORT']}"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # this CA, not the environment's bundle
        session.verify = str(self.ca_file)
        return session

    def script(self, *args: str, **settings: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), *args],
            env={**self.env, **settings},
            capture_output=True,
            text=True,
            timeout=900,
        )

    def containers(self, service: str) -> list[str]:
        """The running containers of one service (all on this one node)."""
        name = f"{STACK}_{service}"
        return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}").split()

    def image(self, service: str) -> str:
        spec = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        return docker("service", "inspect", "--format", spec, f"{STACK}_{service}")

    def scale(self, replicas: int) -> None:
        """Scale web and wait until that many tasks are healthy and no others run."""
        docker("service", "scale", "--detach", f"{STACK}_web={replicas}")

        def settled() -> bool:
            healthy = docker(
                "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_web",
                "--filter", "health=healthy",
            ).split()  # fmt: skip
            return len(healthy) == replicas == len(self.containers("web"))

        wait_for(settled, 180, f"{replicas} healthy web tasks")

    def mail_recipients(self) -> Counter:
        """How many mails the MailDev service holds for each address."""
        listing = docker(
            "exec", self.containers("maildev")[0], "wget", "-qO-", "http://127.0.0.1:1080/email"
        )
        return Counter(to["address"] for mail in json.loads(listing) for to in mail["to"])

    def release(self) -> str:
        return self.session().get(self.https_url + "/healthz", timeout=10).json()["release"]


def made_here() -> str | None:
    """The MADE_HERE label of this engine's swarm node, or None."""
    labels = docker("node", "inspect", "self", "--format", "{{json .Spec.Labels}}", check=False)
    return (json.loads(labels or "null") or {}).get(MADE_HERE)  # a node without labels: null


def take_down(made: str) -> None:
    """Remove the stack, its volumes and images, then leave the swarm these tests made."""
    docker("stack", "rm", STACK, check=False)
    label = f"label=com.docker.stack.namespace={STACK}"

    def gone() -> bool:
        return not docker("ps", "-aq", "--filter", label)

    wait_for(gone, 120, "the stack's containers to go")
    docker("swarm", "leave", "--force", check=False)
    for volume in docker("volume", "ls", "-q", "--filter", label).split():
        docker("volume", "rm", volume, check=False)
    if made == "made-gwbridge":
        docker("network", "rm", "docker_gwbridge", check=False)
    for image in docker("images", "--format", "{{.Repository}}:{{.Tag}}").split():
        if re.match(r"bulletin-(web|nginx|backup):(swarm-|.*-[0-9a-f]{12}$)", image):
            docker("rmi", image, check=False)


@pytest.fixture(scope="module")
def swarm_engine() -> Iterator[None]:
    reason = docker_missing()
    if reason:
        pytest.skip(reason)
    with ENGINE_LOCK.open("w") as lock:
        wait_for(
            lambda: fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB) is None,
            1800,
            f"another run of the swarm tests to let go of {ENGINE_LOCK}",
        )
        left_behind = made_here()
        if left_behind:  # no run holds the lock, so a killed one left this swarm
            take_down(left_behind)
        state = docker("info", "--format", "{{.Swarm.LocalNodeState}}")
        if state != "inactive":
            pytest.skip(f"this engine is in a swarm ({state}); the tests only use their own")
        had_bridge = bool(docker("network", "ls", "-q", "--filter", "name=^docker_gwbridge$"))
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        made = "found-gwbridge" if had_bridge else "made-gwbridge"
        node = docker("info", "--format", "{{.Swarm.NodeID}}")
        docker("node", "update", "--label-add", f"{MADE_HERE}={made}", node)
        try:
            yield
        finally:
            take_down(made)


@pytest.fixture(scope="module")
def swarm(swarm_engine, tmp_path_factory) -> SwarmStack:
    certs = tmp_path_factory.mktemp("swarm-certs")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "ENV_FILE": "/dev/null",  # not the checkout's .env
        "STACK_NAME": STACK,
        "SERVER_NAME": "localhost",
        "HTTP_PORT": str(free_port()),
        "HTTPS_PORT": str(free_port()),
        "LOCAL_CERTS_DIR": str(certs),
        "WEB_REPLICAS": "2",
        "GUNICORN_WORKERS": "2",
        "WEB_START_PERIOD": "20s",
        "WEB_UPDATE_MONITOR": "10s",
        "AUTH_RATE_LIMIT": "10000/minute",
        "API_WRITE_RATE_LIMIT": "1000000/minute",
        "NGINX_SIGN_IN_RATE": "1000r/s",
        "NGINX_SIGN_IN_BURST": "1000",
        "HSTS_MAX_AGE": "300",
        # The stack's mail goes to a MailDev service beside it (started below).
        "MAIL_SERVER": MAILDEV,
        "MAIL_PORT": "1025",
        "MAIL_USE_TLS": "false",
    }
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    stack = SwarmStack(env, certs / "ca.crt")
    deployed = stack.script()
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "swarm-deploy: done: https://localhost:" in deployed.stderr
    # Every service runs; nginx's published port may still take a moment.
    wait_for(
        lambda: stack.session().get(stack.https_url + "/healthz", timeout=10).ok,
        120,
        f"nginx answering on port {env['HTTPS_PORT']}",
    )
    # Labelled as the stack's, so the stack's removal takes it too.
    docker(
        # dnsrr as the stack's own services: no virtual IP, which needs IPVS.
        "service", "create", "--detach", "--name", MAILDEV, "--network", f"{STACK}_back",
        "--endpoint-mode", "dnsrr",
        "--label", f"com.docker.stack.namespace={STACK}",
        "--container-label", f"com.docker.stack.namespace={STACK}",
        "--read-only", "--mount", "type=tmpfs,destination=/tmp", "maildev/maildev:2.2.1",
    )  # fmt: skip
    wait_for(lambda: bool(stack.containers("maildev")), 120, "MailDev running")
    # The images deployed, so later updates can derive from them.
    stack.env["WEB_IMAGE"] = stack.image("web")
    stack.env["BACKUP_IMAGE"] = stack.image("backup")
    return stack


def derived_image(base: str, *lines: str) -> str:
    """A new release made from the deployed one with a few Dockerfile lines."""
    tag = f"bulletin-web:swarm-{uuid.uuid4().hex[:8]}"
    dockerfile = "\n".join([f"FROM {base}", *lines]) + "\n"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", tag, "-"],
        input=dockerfile, text=True, capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    return tag


def api_token(stack: SwarmStack) -> str:
    response = stack.session().post(
        stack.https_url + "/api/v1/tokens", auth=(ADMIN, PASSWORD), timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.fixture(scope="module")
def admin(swarm: SwarmStack) -> str:
    """An administrator made with the image's own command, as an operator would."""
    container = swarm.containers("web")[0]
    created = docker(
        "exec", "-i", container, "flask", "create-admin", ADMIN, "admin", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert "created" in created
    return ADMIN


class TestSwarm:
    def test_the_https_walk(self, swarm: SwarmStack, admin: str):
        session = swarm.session()
        login_page = swarm.https_url + "/auth/login"
        signed_in = session.post(
            login_page,
            data={"csrf_token": csrf_token_in(session.get(login_page).text), "email": admin,
                  "password": PASSWORD},
            headers={"Referer": login_page},
            allow_redirects=False,
        )  # fmt: skip
        assert signed_in.status_code == 302, signed_in.text[:500]
        body = f"Posted through the swarm {uuid.uuid4().hex}"
        home = swarm.https_url + "/"
        posted = session.post(
            home,
            data={"csrf_token": csrf_token_in(session.get(home).text), "body": body},
            headers={"Referer": home},
            allow_redirects=False,
        )
        assert posted.status_code == 302, posted.text[:500]
        assert body in swarm.session().get(home).text  # a visitor sees it too

        token = api_token(swarm)
        api = swarm.session()
        api.headers["Authorization"] = f"Bearer {token}"
        created = api.post(swarm.https_url + "/api/v1/tasks", json={"title": "from the swarm"})
        assert created.status_code == 201, created.text
        listed = api.get(swarm.https_url + "/api/v1/tasks").json()
        assert "from the swarm" in str(listed)

        static = swarm.session().get(swarm.https_url + "/static/bulletin.css")
        assert static.status_code == 200
        assert "immutable" in static.headers["Cache-Control"]
        assert swarm.session().get(swarm.https_url + "/metrics").status_code == 404

    def test_scaled_to_four_tasks_every_one_gets_requests(self, swarm: SwarmStack):
        swarm.scale(1)
        swarm.scale(4)
        marker = uuid.uuid4().hex
        containers = swarm.containers("web")
        session = swarm.session()

        def all_reached() -> bool:
            for _ in range(8):
                assert session.get(f"{swarm.https_url}/?probe={marker}").status_code == 200
            return all(marker in docker("logs", c) for c in containers)

        # nginx asks Docker's DNS again every 5 s, so new tasks join within that.
        wait_for(all_reached, 60, "requests in all four tasks' logs")

    def test_a_killed_task_is_replaced_with_no_failed_request(self, swarm: SwarmStack):
        swarm.scale(3)
        victim = swarm.containers("web")[0]
        # Page reads only: nginx retries an idempotent request on another task
        # (a write in flight on the killed task could not safely be sent twice).
        with Traffic(swarm.https_url, swarm.ca_file) as traffic:
            traffic.wait_for_answers(30)
            docker("kill", victim)
            wait_for(
                lambda: victim not in swarm.containers("web") and len(swarm.containers("web")) == 3,
                60,
                "the swarm to replace the killed task",
            )
            swarm.scale(3)  # the replacement is healthy
            traffic.wait_for_answers(100)
        assert traffic.failures == [], (traffic.answers, traffic.failures[:20])

    def test_a_rolling_update_under_load_fails_no_request(self, swarm: SwarmStack):
        """Web and the worker roll onto a new image while people sign up: no
        request fails, and every confirmation mail arrives once."""
        swarm.scale(2)
        release = f"next-{uuid.uuid4().hex[:6]}"
        image = derived_image(swarm.env["WEB_IMAGE"], f"ENV BULLETIN_RELEASE={release}")
        before = swarm.release()
        seen: Counter = Counter()  # releases /healthz named while the update ran
        outcome: dict[str, subprocess.CompletedProcess] = {}
        traffic = Traffic(swarm.https_url, swarm.ca_file, token=api_token(swarm))
        with traffic, SignUps(swarm.https_url, swarm.ca_file) as sign_ups:
            traffic.wait_for_answers(30)
            sign_ups.wait_for(3)
            update = threading.Thread(
                target=lambda: outcome.update(result=swarm.script("update", WEB_IMAGE=image))
            )
            update.start()
            while update.is_alive():
                seen[swarm.release()] += 1
                time.sleep(0.2)
            traffic.wait_for_answers(30)
            sign_ups.wait_for(3)
        result = outcome["result"]
        assert result.returncode == 0, result.stderr[-3000:]
        assert traffic.failures == [], (traffic.answers, traffic.failures[:20])
        assert sign_ups.failures == [], sign_ups.failures[:10]
        assert swarm.image("worker") == image
        asked = set(sign_ups.registered)
        wait_for(lambda: asked <= set(swarm.mail_recipients()), 120, "every confirmation mail")
        received = swarm.mail_recipients()
        assert {address: received[address] for address in asked} == dict.fromkeys(asked, 1)
        assert seen[before], seen
        assert seen[release], seen  # old and new answered side by side
        assert swarm.image("web") == image
        assert swarm.release() == release
        swarm.env["WEB_IMAGE"] = image

    def test_an_update_whose_health_check_fails_is_rolled_back(self, swarm: SwarmStack):
        swarm.scale(2)
        good = swarm.image("web")
        # A release that listens on the wrong port: gunicorn starts, /healthz never answers.
        broken = derived_image(good, "ENV GUNICORN_BIND=0.0.0.0:9000")
        with Traffic(swarm.https_url, swarm.ca_file, token=api_token(swarm)) as traffic:
            traffic.wait_for_answers(30)
            update = swarm.script("update", WEB_IMAGE=broken)
            traffic.wait_for_answers(30)
        assert update.returncode == 1, update.stderr[-3000:]
        assert "rolled back to" in update.stderr, update.stderr[-3000:]
        assert swarm.image("web") == good
        assert traffic.failures == [], (traffic.answers, traffic.failures[:20])
