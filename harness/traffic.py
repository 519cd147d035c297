"""A steady stream of requests through the proxy while something changes
underneath (an update, a restart, a killed process), counting every answer.

Each client thread keeps its own keep-alive connection and sends, in turn, a
page read, an API read and an API write, the way real traffic mixes them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests


@dataclass
class Traffic:
    base_url: str  # https://localhost:PORT
    ca_file: Path
    token: str | None = None  # an API bearer token: adds task reads and writes
    clients: int = 4
    answers: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    headers_seen: Counter = field(default_factory=Counter)
    writes_acknowledged: int = 0  # POSTs answered 201: what the database must hold
    watch_header: str | None = None  # count this response header's values
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _requests(self) -> list[tuple[str, str, dict | None]]:
        steps: list[tuple[str, str, dict | None]] = [("GET", "/", None)]
        if self.token:
            steps += [("GET", "/api/v1/tasks", None), ("POST", "/api/v1/tasks", {"title": "t"})]
        return steps

    def _client(self) -> None:
        session = requests.Session()
        session.trust_env = False  # this CA, not the environment's bundle
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        steps = self._requests()
        sent = 0
        while not self._stop.is_set():
            method, path, body = steps[sent % len(steps)]
            sent += 1
            try:
                response = session.request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=headers,
                    verify=str(self.ca_file),
                    timeout=60,
                    allow_redirects=False,
                )
                outcome = str(response.status_code)
                failed = response.status_code >= 500 or response.status_code == 429
                seen = response.headers.get(self.watch_header or "", "-")
                said = answered_by(response)
            except requests.RequestException as error:
                outcome, failed, seen, said = type(error).__name__, True, "-", str(error)[:120]
            with self._lock:
                self.answers[outcome] += 1
                if method == "POST" and outcome == "201":
                    self.writes_acknowledged += 1
                if self.watch_header:
                    self.headers_seen[seen] += 1
                if failed:
                    # The outcome stays last: tests split it off at the last ": ".
                    self.failures.append(
                        f"{time.strftime('%X')} {method} {path} ({said}): {outcome}"
                    )

    def __enter__(self) -> Traffic:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    @property
    def total(self) -> int:
        return sum(self.answers.values())

    def wait_for_answers(self, count: int, timeout: float = 60) -> None:
        """Block until `count` more answers have come in (the stream is flowing)."""
        target = self.total + count
        deadline = time.monotonic() + timeout
        while self.total < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.total} answers after {timeout} s: {self.answers}")
            time.sleep(0.1)


def answered_by(response: requests.Response) -> str:
    """Who answered a failure: the app's JSON error (with its message) or
    nginx's own page (the upstream failed), so a failed run says which."""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            return f"app: {response.json().get('message', '')}"[:120]
        except ValueError:
            pass
    return f"{response.headers.get('Content-Type', 'no type')}, {len(response.content)} bytes"
