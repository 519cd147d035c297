"""Database connections that ride out a PostgreSQL restart.

Three things keep a restart (a few seconds) from failing requests:

- A pooled connection the server closed is noticed before use, at no cost:
  PostgreSQL sends a last message and closes its end, so the idle socket
  turns readable, which one ``select`` with no wait sees. It is replaced
  before any request uses it.
- One that sat idle over a second is also pinged (``SELECT 1``), for a cut
  nobody announced (a firewall, a proxy). pool_pre_ping would ask at every
  checkout: one more round trip in every request.
- A new connection that the server refuses because it is restarting (not
  listening yet, starting up, shutting down) is tried again for up to
  DB_CONNECT_WAIT seconds, so a request waits for the database instead of
  failing. Health probes never wait: /readyz must say at once that it is away.

- A request whose connection the server ended under it (a restart ends every
  session, mid-query or between two) runs once more on a new connection, as
  long as it committed nothing: the server rolled back whatever it had, so
  the second run does the work once, not twice (``retry_cut_requests``).

A database away for longer still answers the friendly 503 (bulletin/errors.py).
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 1.0
RETRY_EVERY_SECONDS = 0.25
# What psycopg2 says while PostgreSQL restarts; anything else fails at once.
RESTARTING = (
    "connection refused",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "could not connect to server",
    "server closed the connection unexpectedly",
    # A container restarting: Docker's DNS drops its name, its address has no one.
    "could not translate host name",
    "no route to host",
)
# SQLSTATEs of a server that ended the session itself (admin_shutdown,
# crash_shutdown, cannot_connect_now): it aborted the transaction, COMMIT included.
ENDED_BY_SERVER = {"57P01", "57P02", "57P03"}


def _closed_by_server(dbapi_connection: Any) -> bool:
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None:  # SQLite: no socket
        return False
    try:
        readable, _, _ = select.select([fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def check_before_use(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_connection):
            # The pool drops this connection and checks out another (SQLAlchemy's
            # documented way to refuse a connection at checkout).
            raise DisconnectionError("the server closed this connection (a restart?)")
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            raise DisconnectionError(f"an idle connection was gone: {error}") from error


def wait_for_restarts(engine: Engine, seconds: float) -> None:
    """New connections to a restarting PostgreSQL are tried again for ``seconds``."""
    if engine.dialect.name != "postgresql" or seconds <= 0:
        return

    @event.listens_for(engine, "do_connect")
    def connect_patiently(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        patient = has_request_context() and request.blueprint != "health"
        deadline = time.monotonic() + (seconds if patient else 0)
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as error:
                restarting = any(sign in str(error).lower() for sign in RESTARTING)
                if not restarting or time.monotonic() >= deadline:
                    if has_request_context():
                        g.db_unreachable = True  # waited already: never run it again
                    raise
                time.sleep(RETRY_EVERY_SECONDS)


def retry_cut_requests(app: Flask, engine: Engine, session: Any) -> None:
    """Run a request again, once, when its connection was cut and nothing of it
    can have been committed: no commit finished earlier in the request, and
    none was under way, unless the server had ended the session before the
    COMMIT was sent or says it ended it (then it rolled the transaction back).
    Before-request hooks run again too (the user's row is read anew); health
    probes are never retried."""

    @event.listens_for(engine, "commit")
    def note_commit_sent(connection: Any) -> None:
        if has_request_context():
            g.db_commit_sent = True
            # The server's goodbye already waiting: it ended the session first.
            g.db_commit_after_cut = _closed_by_server(connection.connection.dbapi_connection)

    # One listener, however many apps share the session (the tests make many).
    if not event.contains(session, "after_commit", _note_committed):
        event.listen(session, "after_commit", _note_committed)
    for name in ("preprocess_request", "dispatch_request"):
        setattr(app, name, _once_more_if_cut(getattr(app, name), session))


def _note_committed(_session: Any) -> None:
    if has_request_context():
        g.db_committed = True


def _may_run_again(error: DBAPIError) -> bool:
    if not error.connection_invalidated or request.blueprint == "health":
        return False
    if g.get("db_retried") or g.get("db_committed") or g.get("db_unreachable"):
        return False
    if not g.get("db_commit_sent") or g.get("db_commit_after_cut"):
        return True
    return getattr(error.orig, "pgcode", None) in ENDED_BY_SERVER


def _once_more_if_cut(step: Callable[[], Any], session: Any) -> Callable[[], Any]:
    def run() -> Any:
        try:
            return step()
        except DBAPIError as error:
            if not _may_run_again(error):
                raise
            g.db_retried = True
            g.db_commit_sent = g.db_commit_after_cut = False
            log.warning(
                "database connection cut on %s %s, running it again: %s",
                request.method, request.path, str(error.orig).strip().splitlines()[0],
            )  # fmt: skip
            with contextlib.suppress(DBAPIError):
                session.rollback()
            return step()

    return run
