"""`make dev` for real: Werkzeug's debugger, which runs any Python typed into
its page, answers only on loopback unless DEBUGGER=1 says otherwise.

Only loopback is ever sent a request here; binding 0.0.0.0 listens on every
interface, which is what a person does for the LAN (README)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from harness.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
DEBUGGER_JS = "/?__debugger__=yes&cmd=resource&f=debugger.js"


def serves_the_debugger(tmp_path: Path, *args: str) -> tuple[bool, str]:
    """Start make dev with ``args``; whether its debugger answers, and what make said."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite'}"}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"PORT={port}", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the reloader's child too is stopped below
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # The reloader's first scan of the tree is slow on a busy machine.
                response = requests.get(f"http://127.0.0.1:{port}{DEBUGGER_JS}", timeout=60)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"make dev did not answer: {process.stdout.read()}")
                time.sleep(0.3)
        served = "javascript" in response.headers.get("Content-Type", "")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    return served, output


def test_on_loopback_the_debugger_is_on(tmp_path):
    served, _ = serves_the_debugger(tmp_path, "HOST=127.0.0.1")
    assert served


def test_bound_for_the_lan_the_debugger_is_off_and_make_says_so(tmp_path):
    served, output = serves_the_debugger(tmp_path, "HOST=0.0.0.0")
    assert not served
    assert "the debugger is off (the reloader stays); DEBUGGER=1 turns it on" in output


def test_debugger_1_turns_it_on_with_a_warning(tmp_path):
    served, output = serves_the_debugger(tmp_path, "HOST=0.0.0.0", "DEBUGGER=1")
    assert served
    assert "WARNING: the debugger is on at 0.0.0.0" in output
