"""Every environment variable the app reads is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_is_in_env_example():
    source = (ROOT / "services/web/bulletin/config.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source))
    read |= set(re.findall(r'(?:_int|secret)\(env, "([A-Z_]+)"', source))
    documented = set(re.findall(r"^#?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no variables found: the pattern no longer matches config.py"
    assert read - documented == set()
