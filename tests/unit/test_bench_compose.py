"""The benchmark's compose additions (loadtests/bench.compose.yml) start: the
default `make bench` had stopped starting unseen, because nothing but a
benchmark run reads this file. These check, without Docker, the two ways it
broke: a read-only gunicorn with no /tmp, and a floor whose environment
production's config refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bulletin.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SERVICES = yaml.safe_load((ROOT / "loadtests/bench.compose.yml").read_text())["services"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_read_only_gunicorn_has_a_tmp(name):
    service = SERVICES[name]
    if "gunicorn.conf.py" in " ".join(service["command"]) and service.get("read_only"):
        # gunicorn.conf.py makes its metrics directory with tempfile.mkdtemp().
        mounts = [mount.split(":")[0] for mount in service.get("tmpfs", [])]
        assert "/tmp" in mounts, name  # noqa: S108 (the container's own /tmp)


def test_the_floor_environment_is_one_production_accepts(tmp_path):
    environment = {}
    for key, value in SERVICES["floor"]["environment"].items():
        # What the benchmark sets (SERVER_NAME=localhost), else the file's default.
        value = re.sub(
            r"\$\{([A-Z_]+):-(.*)\}",
            lambda found: {"SERVER_NAME": "localhost"}.get(found[1], found[2]),
            str(value),
        )
        if key.endswith("_FILE"):  # a secret compose mounts: a file of our own instead
            secret = tmp_path / Path(value).name
            secret.write_text("a-secret-long-enough-for-production-" + "x" * 40)
            value = str(secret)
        environment[key] = value
    config = load_config(None, environment)
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql://bulletin:")
