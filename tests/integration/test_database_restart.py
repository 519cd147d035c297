"""A PostgreSQL restart costs no request: connections the server closed are
replaced before use, and a request waits for a database that is coming back
(bulletin/runtime/pool.py). The real test PostgreSQL; its restart is played by
a loopback forwarder the test starts and stops in front of it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from flask import g
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from bulletin import create_app
from bulletin.extensions import db
from bulletin.runtime.pool import (
    MAX_RUNS,
    _closed_by_server,
    autocommit,
    insert_once,
    request_key,
)
from harness.loopback import pipe
from harness.waiting import free_port

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
# One INSERT, the same that skips a row whose request key is stored, and its find.
ONE_WRITE = text("INSERT INTO commit_probe VALUES (:n, :request_key) RETURNING n")
WRITE_AGAIN = text(
    "INSERT INTO commit_probe VALUES (:n, :request_key) "
    "ON CONFLICT (request_key) DO NOTHING RETURNING n"
)
FIND = text("SELECT n FROM commit_probe WHERE request_key = :request_key")
ONCE = (ONE_WRITE, WRITE_AGAIN, FIND)


class Forwarder:
    """A TCP port that passes bytes to PostgreSQL once started: the database, as
    clients see it, is down until then."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: socket.socket | None = None

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        pipe(client, upstream)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def test_a_connection_the_server_closed_is_seen_before_use(database_url):
    connection = psycopg2.connect(database_url)
    other = psycopg2.connect(database_url)
    try:
        assert not _closed_by_server(connection)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (connection.get_backend_pid(),))
        other.commit()
        # The server's goodbye arrives on the idle socket: readable, no round trip.
        deadline = time.monotonic() + 5
        while not _closed_by_server(connection):
            assert time.monotonic() < deadline, "the closed socket never turned readable"
            time.sleep(0.01)
    finally:
        connection.close()
        other.close()


def test_a_request_waits_for_the_database_to_come_back(database_url):
    parts = urlsplit(database_url)
    forwarder = Forwarder((parts.hostname or "127.0.0.1", parts.port or 5432))
    url = urlunsplit(
        parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{forwarder.port}")
    )
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "DB_CONNECT_WAIT": 20})
    # The database comes back a moment after the request asked for it.
    timer = threading.Timer(1.0, forwarder.start)
    timer.start()
    try:
        with app.test_request_context("/"):
            assert db.session.execute(text("SELECT 42")).scalar() == 42
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        timer.cancel()
        forwarder.stop()
        with app.app_context():
            db.engine.dispose()


def test_health_probes_never_wait(database_url):
    parts = urlsplit(database_url)
    nobody = free_port()  # nothing listens here
    url = urlunsplit(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{nobody}"))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "DB_CONNECT_WAIT": 600})
    answer = app.test_client().get("/readyz")  # would hang ten minutes if it waited
    assert answer.status_code == 503
    assert "database unreachable" in answer.json["reason"]
    with app.app_context():
        db.engine.dispose()


def terminate(database_url: str, pid: int) -> None:
    other = psycopg2.connect(database_url)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        other.commit()
    finally:
        other.close()


def cut_own_connection(database_url: str) -> None:
    """End this request's session from outside, as a PostgreSQL restart does."""
    terminate(database_url, db.session.execute(text("SELECT pg_backend_pid()")).scalar())
    connection = db.session.connection().connection.dbapi_connection
    deadline = time.monotonic() + 5
    while not _closed_by_server(connection):
        assert time.monotonic() < deadline, "the server never ended the session"
        time.sleep(0.01)


@contextlib.contextmanager
def probe_table(app, name: str, columns: str = "n integer"):
    """A table (of one integer column) for the views to write to, dropped after."""
    with app.app_context():
        db.session.execute(text(f"CREATE TABLE {name} ({columns})"))
        db.session.commit()
    try:
        yield
    finally:
        with app.app_context():
            db.session.execute(text(f"DROP TABLE {name}"))
            db.session.commit()
            db.engine.dispose()


@pytest.fixture
def cut_app(database_url):
    """An app with three views whose connection is cut on their first run: a
    read, a write cut before its commit, and a write cut after it."""
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False}
    )
    runs: list[str] = []

    def probe_rows() -> int:
        return db.session.execute(text("SELECT count(*) FROM cut_probe")).scalar()

    @app.get("/cut/read")
    def read():
        runs.append("read")
        if len(runs) == 1:
            cut_own_connection(database_url)
        return str(db.session.execute(text("SELECT 42")).scalar())

    @app.get("/cut/read/<int:times>")
    def read_cut_again(times: int):
        runs.append("read")
        if len(runs) <= times:
            cut_own_connection(database_url)
        return str(db.session.execute(text("SELECT 42")).scalar())

    @app.get("/cut/autocommit")
    def autocommit_read():
        runs.append("read")
        with autocommit(db.engine) as connection:
            if len(runs) == 1:
                pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
                terminate(database_url, pid)
            return str(connection.execute(text("SELECT 42")).scalar())

    @app.post("/cut/before-commit")
    def before_commit():
        runs.append("write")
        db.session.execute(text("INSERT INTO cut_probe VALUES (1)"))
        if len(runs) == 1:
            cut_own_connection(database_url)
        db.session.commit()
        return str(probe_rows())

    @app.post("/cut/after-commit")
    def after_commit():
        runs.append("write")
        db.session.execute(text("INSERT INTO cut_probe VALUES (1)"))
        db.session.commit()
        cut_own_connection(database_url)
        return str(probe_rows())

    with probe_table(app, "cut_probe"):
        yield app, runs, probe_rows


# In the session's transaction, and outside one (runtime/pool.py: autocommit).
@pytest.mark.parametrize("path", ["/cut/read", "/cut/autocommit"])
def test_a_read_whose_connection_was_cut_runs_again(cut_app, path):
    app, runs, _ = cut_app
    answer = app.test_client().get(path)
    assert answer.status_code == 200
    assert answer.text == "42"
    assert runs == ["read", "read"]
    # The pool hands the connection back as it was: transactions again.
    with app.app_context(), db.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False


def test_a_read_cut_twice_runs_a_third_time(cut_app):
    # A restart may end the session a request ran again on, too.
    app, runs, _ = cut_app
    answer = app.test_client().get(f"/cut/read/{MAX_RUNS - 1}")
    assert answer.status_code == 200
    assert runs == ["read"] * MAX_RUNS


def test_a_request_cut_every_time_answers_the_friendly_503(cut_app):
    app, runs, _ = cut_app
    answer = app.test_client().get(f"/cut/read/{MAX_RUNS}")
    assert answer.status_code == 503
    assert "Bulletin will be back in a moment" in answer.text
    assert runs == ["read"] * MAX_RUNS


def test_a_write_cut_before_its_commit_is_done_once(cut_app):
    app, runs, probe_rows = cut_app
    answer = app.test_client().post("/cut/before-commit")
    assert answer.status_code == 200
    assert runs == ["write", "write"]
    with app.app_context():
        assert probe_rows() == 1  # the cut run's insert was rolled back by the server


def test_a_request_that_committed_is_never_run_again(cut_app):
    app, runs, probe_rows = cut_app
    answer = app.test_client().post("/cut/after-commit")
    assert answer.status_code == 503  # the friendly outage answer, not a second write
    assert runs == ["write"]
    with app.app_context():
        assert probe_rows() == 1


class StatementCutter(Forwarder):
    """A forwarder that cuts the first message holding ``marker`` after
    ``arm``: it passes it on and drops the answer ("lands"), or drops the
    message itself ("lost"), and closes both ends, as a restart can then."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__(target)
        self.mode: str | None = None
        self.marker = b""

    def arm(self, mode: str, marker: bytes) -> None:
        self.mode, self.marker = mode, marker

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                marked = self.mode is not None and self.marker in data
                mode, self.mode = (self.mode, None) if marked else (None, self.mode)
                if mode == "lands":
                    upstream.sendall(data)
                if mode is not None:
                    # Both ends at once: the server's answer never reaches the client.
                    for end in (client, upstream):
                        end.shutdown(socket.SHUT_RDWR)
                    return
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()


PROBE_COLUMNS = "n integer, request_key uuid UNIQUE"


@pytest.fixture
def statement_cutter(database_url):
    """An app behind a StatementCutter, with two views that store a row and
    answer the n of the rows there are: through the session, and in one
    INSERT (insert_once) whose n is the view's run."""
    parts = urlsplit(database_url)
    cutter = StatementCutter((parts.hostname or "127.0.0.1", parts.port or 5432))
    cutter.start()
    url = urlunsplit(
        parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{cutter.port}")
    )
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    runs: list[str] = []

    def stored() -> str:
        rows = db.session.execute(text("SELECT n FROM commit_probe")).scalars()
        return ",".join(map(str, rows))

    @app.post("/store")
    def store():
        runs.append("write")
        db.session.execute(text("INSERT INTO commit_probe (n) VALUES (1)"))
        db.session.commit()
        return stored()

    @app.post("/store-in-one")
    def store_in_one():
        runs.append("write")
        values = {"n": len(runs), "request_key": request_key()}
        inserted = insert_once(db.engine, *ONCE, values)
        assert inserted is not None
        return stored()

    try:
        with probe_table(app, "commit_probe", PROBE_COLUMNS):
            yield app, cutter, runs
    finally:
        cutter.stop()


# "lands": the server did the statement, its answer was lost. "lost": it
# never arrived. Stored once either way:
# - through the session, its COMMIT cut: the transaction id settles it, and a
#   commit that landed lets the view go on, once;
# - in one INSERT in autocommit (insert_once), the INSERT cut: the request
#   runs again with its key and finds the first run's row (n=1) if it landed,
#   or stores its own (n=2).
@pytest.mark.parametrize(
    ("path", "marker", "mode", "expected_runs", "expected_rows"),
    [
        ("/store", b"COMMIT", "lands", 1, "1"),
        ("/store", b"COMMIT", "lost", 2, "1"),
        ("/store-in-one", b"INSERT INTO commit_probe", "lands", 2, "1"),
        ("/store-in-one", b"INSERT INTO commit_probe", "lost", 2, "2"),
    ],
)
def test_a_cut_write_is_settled_and_stores_the_row_once(
    statement_cutter, path, marker, mode, expected_runs, expected_rows
):
    app, cutter, runs = statement_cutter
    cutter.arm(mode, marker)
    answer = app.test_client().post(path)
    assert cutter.mode is None, "the statement was never cut"
    assert answer.status_code == 200
    assert answer.text == expected_rows
    assert runs == ["write"] * expected_runs


def test_an_insert_run_again_waits_for_its_first_run_and_finds_its_row(database_url):
    # The first run's session may outlive the cut a moment, its INSERT not yet
    # committed: the unique index makes the second wait, then skip it.
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    key = str(uuid.uuid4())
    first = psycopg2.connect(database_url)
    with app.app_context(), probe_table(app, "commit_probe", PROBE_COLUMNS):
        try:
            with first.cursor() as cursor:
                cursor.execute("INSERT INTO commit_probe VALUES (1, %s)", (key,))
            again: list = []

            def run_again() -> None:
                with app.test_request_context("/"):
                    g.db_runs = 2  # as retry_cut_requests runs a cut request again
                    again.append(insert_once(db.engine, *ONCE, {"n": 2, "request_key": key}))

            thread = threading.Thread(target=run_again)
            thread.start()
            deadline = time.monotonic() + 10
            while not waiting_on_a_lock(database_url, "INSERT INTO commit_probe"):
                assert time.monotonic() < deadline, "the second run never waited for the first"
                time.sleep(0.02)
            first.commit()
            thread.join(10)
            assert [row.n for row in again] == [1]
            with first.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM commit_probe")
                assert cursor.fetchone()[0] == 1
            first.rollback()
        finally:
            first.close()


def waiting_on_a_lock(database_url: str, query: str) -> bool:
    other = psycopg2.connect(database_url)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                (f"{query}%",),
            )
            return cursor.fetchone()[0] > 0
    finally:
        other.close()


def test_a_failed_insert_hands_its_connection_back_idle(database_url):
    # In autocommit nothing is left open; the pool hands the same connection
    # out again, in transactions as before.
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        with db.engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with pytest.raises(DBAPIError, match="division by zero"):
            insert_once(db.engine, text("SELECT 1 / 0"), *ONCE[1:], {"request_key": request_key()})
        with db.engine.connect() as connection:
            dbapi_connection = connection.connection.dbapi_connection
            assert dbapi_connection.get_transaction_status() == TRANSACTION_STATUS_IDLE
            assert dbapi_connection.autocommit is False
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        db.engine.dispose()


def test_an_insert_once_is_one_round_trip(database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    with app.app_context(), probe_table(app, "commit_probe", PROBE_COLUMNS):
        event.listen(db.engine, "after_cursor_execute", note)
        try:
            inserted = insert_once(db.engine, *ONCE, {"n": 1, "request_key": request_key()})
        finally:
            event.remove(db.engine, "after_cursor_execute", note)
        assert inserted is not None
        assert inserted.n == 1
        assert len(sent) == 1
        assert sent[0].startswith("INSERT INTO commit_probe")
