"""make audit covers every pinned requirements file, and the scan workflow runs
it (pip-audit needs PyPI's advisory service, which only GitHub's runners reach)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_make_audit_reads_every_requirements_file_strictly():
    tracked = subprocess.run(
        ["git", "ls-files", "*requirements*.txt"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert len(tracked) >= 4
    recipe = subprocess.run(
        ["make", "--dry-run", "--always-make", "audit"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    for path in tracked:
        assert path in recipe, f"make audit skips {path}"
    assert "pip-audit --strict" in recipe  # a package it cannot look up fails the run


def test_the_scan_workflow_runs_make_audit():
    workflow = yaml.safe_load((ROOT / ".github/workflows/scan.yml").read_text())
    steps = workflow["jobs"]["dependencies"]["steps"]
    assert {"run": "make audit"} in steps
