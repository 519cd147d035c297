"""What the deployment files promise, checked where a review would look: every
image pinned to a release, certbot as locked down as the other services, and
the image's Python packages installed only with their pinned hashes. The Pebble
test runs certbot under this hardening for real."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = [
    "docker-compose.yml",
    "docker-compose.override.yml",
    "tests/compose/pebble.yml",
]


def images() -> list[str]:
    found = []
    for name in COMPOSE_FILES:
        services = yaml.safe_load((ROOT / name).read_text()).get("services", {})
        found += [s["image"] for s in services.values() if "image" in s]
    found += re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    # An operator's choice with the file's default (POSTGRES_IMAGE): the default counts.
    found = [re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", image) for image in found]
    return [image for image in found if not image.startswith("bulletin-")]


def test_every_image_names_a_release():
    for image in images():
        name, _, tag = image.partition(":")
        assert tag, f"{image}: pin a version"
        assert tag != "latest", f"{image}: pin a version"
        assert re.match(r"v?\d", tag), f"{image}: the tag should start with a version"


def test_certbot_runs_read_only_without_capabilities():
    certbot = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["certbot"]
    assert certbot["read_only"] is True
    assert certbot["cap_drop"] == ["ALL"]
    assert "cap_add" not in certbot
    assert "no-new-privileges:true" in certbot["security_opt"]


def test_the_image_installs_python_packages_by_hash_only():
    assert "pip install --require-hashes" in (ROOT / "Dockerfile").read_text()
    requirements = (ROOT / "services/web/requirements.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\[\]-]+)==\S+ \\$", requirements, re.M)
    assert pins, "no pinned requirement found"
    blocks = re.split(r"^(?=[A-Za-z])", requirements, flags=re.M)[1:]
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_mail_inbox_is_development_only_and_hardened():
    """MailDev shows every mail the app sends: never in the production file."""
    production = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    development = yaml.safe_load((ROOT / "docker-compose.override.yml").read_text())["services"]
    assert "maildev" not in production
    assert "MAIL_INBOX" not in production["nginx"]["environment"]
    maildev = development["maildev"]
    assert maildev["read_only"] is True
    assert maildev["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in maildev["security_opt"]
    assert "ports" not in maildev  # reached through nginx's TLS only


def test_the_worker_is_the_web_image_hardened_like_web_everywhere():
    """One image, one migration lock: compose (both files) and Swarm run the
    worker as web is run, with a health check of its own and time to finish."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    swarm = yaml.safe_load((ROOT / "deploy/swarm/stack.yml").read_text())["services"]
    for services in (compose, swarm):
        web, worker = services["web"], services["worker"]
        assert worker["image"] == web["image"]
        assert worker["command"] == ["flask", "jobs", "worker"]
        assert worker["read_only"] is True
        assert worker["cap_drop"] == ["ALL"]
        assert worker["healthcheck"]["test"] == ["CMD", "flask", "jobs", "health"]
        assert worker["secrets"] == web["secrets"]
        assert worker["environment"]["JOB_QUEUE"] == "database"
        assert int(worker["stop_grace_period"].rstrip("s")) >= 60
        assert "ports" not in worker
        assert "front" not in worker["networks"]  # nothing facing the internet reaches it
    assert "no-new-privileges:true" in compose["worker"]["security_opt"]
    development = yaml.safe_load((ROOT / "docker-compose.override.yml").read_text())["services"]
    assert development["worker"]["environment"] is development["web"]["environment"]
    # make deploy and make swarm-update replace it with web.
    assert "--no-deps worker" in (ROOT / "deploy/compose/compose-update").read_text()
    assert "for service in web worker backup" in (ROOT / "deploy/swarm/swarm-deploy").read_text()


def test_nginx_is_health_checked_by_its_own_answer_not_the_apps():
    """A slow app must not make nginx unhealthy: compose and Swarm ask /nginx-health,
    which nginx answers by itself (tests/https_checks.py proves the app never sees it)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    swarm = yaml.safe_load((ROOT / "deploy/swarm/stack.yml").read_text())["services"]
    for services in (compose, swarm):
        assert services["nginx"]["healthcheck"]["test"][-1] == "https://127.0.0.1/nginx-health"
    template = (ROOT / "nginx/templates/default.conf.template").read_text()
    location = template.split("location = /nginx-health {", 1)[1].split("}", 1)[0]
    assert "return 200" in location
    assert "proxy" not in location
