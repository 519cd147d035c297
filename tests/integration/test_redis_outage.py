"""Sign-in survives redis: with the rate-limit storage down, sign-in, token
requests and the limited routes keep answering, counted in memory, and the
shared counts resume when redis returns. A real redis-server, stopped and
started again by the test."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
import redis

from bulletin import create_app
from bulletin.core import throttle
from bulletin.extensions import db
from bulletin.services import accounts
from harness.waiting import free_port, wait_for
from tests.conftest import empty_tables
from tests.support import PASSWORD, Auth, basic_auth, bearer


class RedisServer:
    def __init__(self, folder) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self.client().ping, 10, "redis answering")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


@pytest.fixture
def shared_app(database_url, redis_server):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_server.port}/0",
            "RATELIMIT_KEY_PREFIX": f"outage-{uuid.uuid4().hex[:8]}",
            "AUTH_RATE_LIMIT": "1000/minute",
            "ACCOUNT_SIGN_IN_LIMIT": "1000/hour",
        },
    )
    yield app
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def sign_in_and_get_a_token(app, email: str) -> tuple[int, int]:
    """A sign-in through the form, a token, a search and an API write: every kind of limit."""
    client = app.test_client()
    page = Auth(client).login(email).status_code
    answer = client.post("/api/v1/tokens", headers=basic_auth(email, PASSWORD))
    assert client.get("/search?q=garden").status_code == 200
    if answer.status_code == 201:
        task = client.post(
            "/api/v1/tasks", headers=bearer(answer.json["token"]), json={"title": "t"}
        )
        assert task.status_code == 201
    return page, answer.status_code


def test_sign_in_and_tokens_answer_while_redis_is_down_and_share_again_after(
    shared_app, redis_server, caplog
):
    name = f"ron{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    with shared_app.test_request_context():
        accounts.register_user(email=email, username=name, password=PASSWORD, confirmed=True)
    assert sign_in_and_get_a_token(shared_app, email) == (302, 201)

    assert "bulletin_rate_limit_storage_up 1.0" in shared_app.test_client().get("/metrics").text

    redis_server.stop()
    # The per-account count first, before any route's limit finds redis gone.
    wrong = Auth(shared_app.test_client()).login(email, "not the password").status_code
    answers = [sign_in_and_get_a_token(shared_app, email) for _ in range(10)]
    assert wrong == 200  # refused as usual, and counted in memory
    assert answers == [(302, 201)] * 10
    assert "storage unreachable" in caplog.text
    assert "bulletin_rate_limit_storage_up 0.0" in shared_app.test_client().get("/metrics").text

    redis_server.start()  # empty: its counts were lost with it

    def shared_again() -> bool:
        # Flask-Limiter asks redis again after 1, 2, 4 ... s (at most about a minute).
        Auth(shared_app.test_client()).login(email, "not the password")
        return any(b"failed-sign-in" in key for key in redis_server.client().keys("*"))

    wait_for(shared_again, 90, "the per-account count back in redis")
    assert sign_in_and_get_a_token(shared_app, email) == (302, 201)
    assert "bulletin_rate_limit_storage_up 1.0" in shared_app.test_client().get("/metrics").text


def test_a_storage_that_failed_is_asked_again_only_after_a_while(caplog, monkeypatch):
    """A redis host that vanished costs a timeout per try: while it is away,
    the counts are kept in memory and redis is asked again after 1, 2, 4 ... s."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",  # nobody listens
        },
    )
    clock = SimpleNamespace(monotonic=lambda: 1000.0, time=time.time)
    monkeypatch.setattr(throttle, "time", clock)
    key = ("away", uuid.uuid4().hex)
    with app.test_request_context():
        answers = [throttle.spend("2/minute", key) for _ in range(3)]
        assert answers[:2] == [None, None]
        assert 0 < (answers[2] or 0) <= 60  # counted meanwhile, in memory
        assert caplog.text.count("storage unreachable") == 1  # asked once
        clock.monotonic = lambda: 1001.5
        throttle.spend("2/minute", key)
        assert caplog.text.count("storage unreachable") == 2  # asked again after 1 s
