"""Ports to listen on and conditions to wait for, shared by every harness."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests


def free_port() -> int:
    """A TCP port nobody listens on now, for a server the caller starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")
