"""Every environment variable the app, the compose files and the swarm stack read is documented
in .env.example."""

import re
from pathlib import Path

from bulletin.config import CONFIGS, Environment

ROOT = Path(__file__).resolve().parents[2]
SWARM_DEPLOY = ROOT / "deploy/swarm/swarm-deploy"


def test_every_variable_is_in_env_example():
    """Every variable a config reads, as the config reads it (each environment built)."""
    read = set()
    for config_class in CONFIGS.values():
        environment = Environment({})
        config_class(environment)
        read |= environment.names_read
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?([A-Z0-9_]+)=", example, re.M))
    # "Every secret (SECRET_KEY, ...) can come from a file instead: <NAME>_FILE".
    secrets = re.search(r"^# Every secret \(([^)]*)\)", example, re.M)
    assert secrets, ".env.example no longer lists the secrets that take <NAME>_FILE"
    documented |= {f"{name}_FILE" for name in re.findall(r"[A-Z][A-Z0-9_]+", secrets[1])}
    assert read, "no variables read: configs no longer read through Environment"
    assert read - documented == set()


def test_every_compose_variable_is_in_env_example():
    read = set()
    for name in ("docker-compose.yml", "docker-compose.override.yml", "deploy/swarm/stack.yml"):
        read |= set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / name).read_text()))
    documented = set(re.findall(r"^#?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    # What swarm-deploy works out itself (the content-named certificate...).
    for names in re.findall(r"^\s*export ([A-Z0-9_ ]+)$", SWARM_DEPLOY.read_text(), re.M):
        documented |= set(names.split())
    assert read, "no variables found: the pattern no longer matches the compose files"
    assert read - documented == set()
