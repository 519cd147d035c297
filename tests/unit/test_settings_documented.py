"""Every environment variable the app, the compose files and the swarm stack read is documented
in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SWARM_DEPLOY = ROOT / "deploy/swarm/swarm-deploy"


def test_every_variable_is_in_env_example():
    source = (ROOT / "services/web/bulletin/config.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|\[)"([A-Z0-9_]+)"', source))
    read |= set(re.findall(r'(?:_int|secret)\(env, "([A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^#?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no variables found: the pattern no longer matches config.py"
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
