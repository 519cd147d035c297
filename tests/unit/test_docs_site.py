"""The docs site builds strictly (as make lint builds it), and strict means it:
a broken link or a page left out of nav stops the build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]


def build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MKDOCS, "--site-dir", str(root / "site")],
        cwd=root,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path


def test_the_docs_build_strictly(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert (site / "site/architecture/index.html").exists()


def test_a_broken_link_stops_the_build(site):
    with (site / "docs/operating.md").open("a") as page:
        page.write("\nSee [the missing page](nowhere.md#anchor).\n")
    result = build(site)
    assert result.returncode != 0
    assert "nowhere.md" in result.stderr


def test_a_page_missing_from_nav_stops_the_build(site):
    (site / "docs/orphan.md").write_text("# Orphan\n")
    result = build(site)
    assert result.returncode != 0
    assert "orphan.md" in result.stderr
