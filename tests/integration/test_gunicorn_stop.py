"""How gunicorn stops, with the project's settings (services/web/gunicorn.conf.py):
a connection that reached it before SIGTERM is answered, and one that comes
after is refused, which nginx retries on another replica. A connection taken
by the kernel and then reset would cost a POST during an update (nginx retries
no POST whose request it sent).

A tiny WSGI app stands in for Bulletin: what is tested is gunicorn's socket.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.waiting import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "services/web/gunicorn.conf.py")]
SIGTERM_BIT = 1 << (signal.SIGTERM - 1)

APP = """
import os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        open(os.environ["SLOW_STARTED"], "w").close()
        while not os.path.exists(os.environ["SLOW_RELEASE"]):
            time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"answered"]
"""


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    slow_started: Path
    slow_release: Path

    @property
    def worker(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        (pid,) = children.read_text().split()
        return int(pid)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def get(self, path: str) -> bytes:
        """One request on a new connection: the status line, or b"" if reset."""
        with self.connect() as connection:
            return send(connection, path)


def send(connection: socket.socket, path: str) -> bytes:
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return read_status(connection)


def read_status(connection: socket.socket) -> bytes:
    try:
        return connection.makefile("rb").readline().strip()
    except ConnectionResetError:
        return b""


def sigterm_pending(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    masks = [
        line.split()[1] for line in status.splitlines() if line.startswith(("SigPnd", "ShdPnd"))
    ]
    return any(int(mask, 16) & SIGTERM_BIT for mask in masks)


@pytest.fixture
def gunicorn(tmp_path) -> Iterator[Gunicorn]:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the worker's pending signals from /proc (Linux)")
    (tmp_path / "stand_in.py").write_text(APP)
    port = free_port()
    server = Gunicorn(
        subprocess.Popen(
            [*GUNICORN, "--chdir", str(tmp_path), "stand_in:app"],
            env={
                **os.environ,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "1",
                "GUNICORN_THREADS": "4",
                "GUNICORN_GRACEFUL_TIMEOUT": "20",
                "SLOW_STARTED": str(tmp_path / "slow-started"),
                "SLOW_RELEASE": str(tmp_path / "slow-release"),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        port,
        tmp_path / "slow-started",
        tmp_path / "slow-release",
    )
    try:

        def answering() -> bool:
            try:
                return server.get("/") == b"HTTP/1.1 200 OK"
            except OSError:
                return False

        wait_for(answering, 30, "gunicorn answering")
        yield server
    finally:
        server.slow_release.touch()
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait(timeout=30)


def test_connections_queued_when_sigterm_arrives_are_answered(gunicorn: Gunicorn):
    # A stopped worker accepts nothing: the kernel queues these connections
    # with their requests, as it does for any that arrive a moment before the
    # worker reads the signal.
    worker = gunicorn.worker
    os.kill(worker, signal.SIGSTOP)
    try:
        queued = [gunicorn.connect() for _ in range(5)]
        for connection in queued:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        gunicorn.process.send_signal(signal.SIGTERM)
        wait_for(lambda: sigterm_pending(worker), 15, "the master passing SIGTERM to its worker")
    finally:
        os.kill(worker, signal.SIGCONT)

    statuses = [read_status(connection) for connection in queued]
    for connection in queued:
        connection.close()
    assert statuses == [b"HTTP/1.1 200 OK"] * 5
    assert gunicorn.process.wait(timeout=30) == 0


def test_a_stopping_worker_refuses_new_connections_and_finishes_its_requests(gunicorn: Gunicorn):
    answer: list[bytes] = []
    slow = threading.Thread(target=lambda: answer.append(gunicorn.get("/slow")))
    slow.start()
    wait_for(gunicorn.slow_started.exists, 15, "the slow request in flight")

    gunicorn.process.send_signal(signal.SIGTERM)

    def refused() -> bool:
        try:
            gunicorn.connect().close()
        except ConnectionRefusedError:
            return True
        return False

    wait_for(refused, 15, "new connections refused while the slow request is in flight")
    assert not answer, "the slow request ended before it was released"
    gunicorn.slow_release.touch()
    slow.join(timeout=15)
    assert answer == [b"HTTP/1.1 200 OK"]
    assert gunicorn.process.wait(timeout=30) == 0
