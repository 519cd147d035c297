"""`make help` lists every target people type, each from the "## " line above it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_phony_target_has_a_line_in_make_help():
    if shutil.which("make") is None:
        pytest.skip("make is not installed (apt-get install make)")
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:((?:.*\\\n)*.*)$", makefile, re.M)
    assert phony, "the Makefile has no .PHONY line"
    targets = set(phony[1].replace("\\\n", " ").split())
    output = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = set(re.findall(r"^make (\S+) ", output, re.M))
    assert targets - listed == set(), "add a '## ' line above each of these targets"
    assert all(re.match(r"^make \S+ +\S", line) for line in output.splitlines())
