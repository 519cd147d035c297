"""The monitoring profile's configuration as Compose and Swarm start it: each
template rendered with the environment its service file gives it passes the
tool's own check, a missing setting stops the start with what to set, and
both files run the same images."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
FILES = {
    "compose": ROOT / "docker-compose.yml",
    "swarm": ROOT / "deploy/swarm/monitoring.yml",
}
# What an operator's .env holds; everything else takes the file's defaults.
OPERATOR = {"SERVER_NAME": "bulletin.example.com", "ALERT_MAIL_TO": "ops@example.com",
            "MAIL_SERVER": "smtp.example.com"}  # fmt: skip
SERVICES = ("prometheus", "alertmanager", "blackbox", "postgres-exporter",
            "redis-exporter", "nginx-exporter")  # fmt: skip


def services(platform: str) -> dict:
    return yaml.safe_load(FILES[platform].read_text())["services"]


def environment(platform: str, service: str) -> dict[str, str]:
    """The service's environment as Compose interpolates it from OPERATOR."""

    def interpolate(value: str) -> str:
        def one(match: re.Match) -> str:
            name, _, default = match.group(1).partition(":")
            if name in OPERATOR:
                return OPERATOR[name]
            return default[1:] if default.startswith("-") else ""

        return re.sub(r"\$\{([^}]+)\}", one, value)

    return {k: interpolate(str(v)) for k, v in services(platform)[service]["environment"].items()}


def render(template: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    output = tmp_path / template
    return subprocess.run(
        ["sh", str(MONITORING / "render"), str(MONITORING / template), str(output), "--", "true"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return found


@pytest.mark.parametrize("platform", list(FILES))
def test_prometheus_configuration_renders_and_passes_promtool(platform, tmp_path):
    env = environment(platform, "prometheus")
    assert render("prometheus.yml", env, tmp_path).returncode == 0
    text = (tmp_path / "prometheus.yml").read_text()
    # The rule file where the container mounts it, here where the checkout has it.
    text = text.replace("/etc/bulletin/alerts.yml", str(MONITORING / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(text)
    config = yaml.safe_load(text)
    web = next(job for job in config["scrape_configs"] if job["job_name"] == "bulletin-web")
    expected = {"compose": "web", "swarm": "tasks.web"}[platform]
    assert web["dns_sd_configs"][0]["names"] == [expected]
    result = subprocess.run(
        [tool("promtool", "prometheus"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("platform", list(FILES))
def test_alertmanager_configuration_renders_and_passes_amtool(platform, tmp_path):
    env = environment(platform, "alertmanager")
    assert render("alertmanager.yml", env, tmp_path).returncode == 0
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    assert config["global"]["smtp_smarthost"] == "smtp.example.com:587"
    assert config["global"]["smtp_require_tls"] is True
    assert config["receivers"][0]["email_configs"][0]["to"] == "ops@example.com"
    result = subprocess.run(
        [
            tool("amtool", "prometheus-alertmanager"),
            "check-config",
            str(tmp_path / "alertmanager.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_setting_stops_the_start_and_names_it(tmp_path):
    env = {k: v for k, v in environment("compose", "alertmanager").items() if k != "ALERT_MAIL_TO"}
    result = render("alertmanager.yml", {**env, "ALERT_MAIL_TO": ""}, tmp_path)
    assert result.returncode == 1
    assert "ALERT_MAIL_TO, which is not set" in result.stderr
    assert "docs/operating.md" in result.stderr


def test_compose_and_swarm_run_the_same_pinned_images():
    compose, swarm = services("compose"), services("swarm")
    for name in SERVICES:
        assert compose[name]["image"] == swarm[name]["image"], name
        assert ":" in compose[name]["image"], name
        assert not compose[name]["image"].endswith(":latest"), name
        assert compose[name]["profiles"] == ["monitoring"], name


def test_nothing_of_the_profile_is_published_beyond_the_host():
    for name, service in services("compose").items():
        for port in service.get("ports", []):
            if name in SERVICES:
                assert str(port).startswith("127.0.0.1:"), (name, port)
    for name in SERVICES:
        assert "ports" not in services("swarm")[name], name
