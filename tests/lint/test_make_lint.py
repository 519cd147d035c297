"""`make lint` fails on each kind of mistake it exists to catch.

Each test copies the checkout, makes one mistake in the copy and runs the real
`make lint` there with this environment's tools; the tool that should object
must say so in the output.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".venv-k8s",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "instance",
    "local",
    "reports",
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if not shutil.which("make"):
        pytest.skip("make is not installed (apt-get install make)")
    copy = tmp_path / "bulletin"
    # copy2 keeps modification times, so make sees the environment as current.
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT, copy_function=shutil.copy2)
    return copy


def make_lint(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "lint", f"VENV={sys.prefix}"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=600,
    )


def write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


MISTAKES = {
    "an unformatted file": (
        lambda c: write(c / "services/web/bulletin/unformatted.py", "x = {  'a':1 }\n"),
        "--> services/web/bulletin/unformatted.py",
    ),
    "a type error in services/": (
        lambda c: write(
            c / "services/web/bulletin/services/broken.py",
            'from __future__ import annotations\n\n\ndef count() -> int:\n    return "three"\n',
        ),
        "services/broken.py:5: error: Incompatible return value type",
    ),
    "an action pinned by tag": (
        lambda c: (c / ".github/workflows/lint.yml").write_text(
            (c / ".github/workflows/lint.yml")
            .read_text()
            .replace(
                "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
                "actions/checkout@v7.0.1",
            )
        ),
        "unpinned-uses",
    ),
    "a shell script with a shellcheck error": (
        lambda c: write(c / "deploy/broken.sh", '#!/bin/sh\nif [ "$1" = x ]\n  echo x\nfi\n'),
        "SC1049",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_make_lint_fails_on(checkout: Path, mistake: str):
    make_mistake, complaint = MISTAKES[mistake]
    make_mistake(checkout)
    result = make_lint(checkout)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert complaint in output, output
