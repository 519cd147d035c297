"""Database connections that ride out a PostgreSQL restart.

Four things keep a restart (a few seconds) from failing requests:

- A pooled connection the server closed is noticed before use, at no cost:
  PostgreSQL sends a last message and closes its end, so the idle socket
  turns readable, which one ``select`` with no wait sees. It is replaced
  before any request uses it.
- One that sat idle over a second is also pinged (``SELECT 1``), for a cut
  nobody announced (a firewall, a proxy). pool_pre_ping would ask at every
  checkout: one more round trip in every request.
- A new connection that the server refuses because it is restarting (not
  listening yet, starting up, shutting down) is tried again until the
  database has been away DB_CONNECT_WAIT seconds, so a request waits for the
  database instead of failing. The wait counts from the outage's start, not
  each request's: when it is longer, requests answer the friendly 503 at once
  (bulletin/errors.py) instead of each holding a worker thread for the whole
  wait. Health probes never wait: /readyz must say at once that it is away.

- A request whose connection the server ended under it (a restart ends every
  session, mid-query or between two) runs again on a new connection, up to
  MAX_RUNS times, as long as it committed nothing: the server rolled back
  whatever it had, so the work is done once, not twice (``retry_cut_requests``).
- A COMMIT cut before its answer came is in doubt: it may have landed or not.
  Its transaction id, noted before the COMMIT, is looked up on a new
  connection (``settle_cut_commits``): committed, the request goes on as if
  the answer had come; rolled back, it runs again.

And three ways the hot routes spend fewer round trips than a session's
BEGIN, statements, ROLLBACK or COMMIT, each still safe through a restart: a
read of one statement in autocommit (``autocommit``), an insert of one
statement in autocommit, made safe to run again by the request's key
(``insert_once``), and a view's GET run outside a transaction
(``reads_alone``).
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 1.0
RETRY_EVERY_SECONDS = 0.25
MAX_RUNS = 3  # a cut request runs again twice: a restart may end two of its sessions
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
    # A connection the server dropped while it went down or came up.
    "connection reset by peer",
    "could not receive data from server",
    "not yet accepting connections",
    "timeout expired",
    "connection timed out",
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
            # psycopg2 began a transaction for it: hand the connection out idle.
            dbapi_connection.rollback()
        except Exception as error:
            raise DisconnectionError(f"an idle connection was gone: {error}") from error


class Outage:
    """When this process first, and last, failed to reach the database. Failures
    further apart than the wait are separate outages: a restart after a long
    gap in traffic is waited for in full."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.began: float | None = None
        self.last_failed = 0.0

    def deadline(self, now: float) -> float:
        if self.began is None or now - self.last_failed > self.wait:
            return now + self.wait
        return max(now, self.began + self.wait)

    def failed(self, now: float) -> None:
        if self.began is None or now - self.last_failed > self.wait:
            self.began = now
        self.last_failed = now

    def ended(self) -> None:
        self.began = None


def wait_for_restarts(engine: Engine, seconds: float) -> None:
    """New connections to a restarting PostgreSQL are tried again until it has
    been away ``seconds``."""
    if engine.dialect.name != "postgresql" or seconds <= 0:
        return
    outage = Outage(seconds)

    @event.listens_for(engine, "do_connect")
    def connect_patiently(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        patient = has_request_context() and request.blueprint != "health"
        deadline = outage.deadline(time.monotonic()) if patient else 0.0
        while True:
            try:
                connection = dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as error:
                restarting = any(sign in str(error).lower() for sign in RESTARTING)
                now = time.monotonic()
                if restarting:
                    outage.failed(now)
                if not restarting or now >= deadline:
                    if has_request_context():
                        g.db_unreachable = True  # waited already: never run it again
                    raise
                time.sleep(RETRY_EVERY_SECONDS)
            else:
                outage.ended()
                return connection


def settle_cut_commits(engine: Engine, seconds: float) -> None:
    """Learn what became of a COMMIT whose answer was cut. Noting the
    transaction id costs one round trip per commit; without it a write cut at
    its COMMIT could only answer 503, as nobody knew whether it was stored.
    (``insert_once`` needs no COMMIT: it can run again instead.)"""
    if engine.dialect.name != "postgresql":
        return
    dialect = engine.dialect
    commit = dialect.do_commit

    def do_commit(connection: Any) -> None:
        if connection.autocommit:  # a request that only reads (reads_alone): nothing to commit
            return
        cursor = connection.cursor()
        cursor.execute(f"SELECT {XID}")
        (xid,) = cursor.fetchone()
        cursor.close()
        if has_request_context():
            g.db_commit_sent = True
        try:
            commit(connection)
        except dialect.loaded_dbapi.OperationalError as error:
            # Cut before its answer came: go on as if it had, when it landed.
            ended = getattr(error, "pgcode", None) in ENDED_BY_SERVER
            outcome = "aborted" if xid is None or ended else _outcome(engine, xid, seconds)
            if has_request_context():
                g.db_commit_outcome = outcome
            if outcome != "committed":
                raise
            log.warning("a COMMIT's answer was cut, but it committed: %s", str(error).strip())
            connection.invalidate(error, soft=True)  # reconnected at its next checkout

    dialect.do_commit = do_commit  # type: ignore[assignment]  # this engine's dialect only


# The transaction's id as text; NULL for one that wrote nothing: nothing to lose.
XID = "pg_current_xact_id_if_assigned()::text"


def request_key() -> uuid.UUID:
    """This request's key, the same each time a cut request runs again: a row
    stored with it is found again instead of stored twice (``insert_once``).
    A new one outside a request."""
    if not has_request_context():
        return uuid.uuid4()
    if "db_request_key" not in g:
        g.db_request_key = uuid.uuid4()
    return g.db_request_key


def insert_once(
    engine: Engine, insert: Any, insert_again: Any, find: Any, values: dict[str, Any]
) -> Any | None:
    """Run one INSERT that returns its row, in autocommit: one round trip on
    PostgreSQL where a session takes four (BEGIN, the INSERT, the transaction
    id, COMMIT). The row, or None when there was nothing to insert.

    An INSERT whose answer a restart cut may have landed or not. The request
    runs again (``retry_cut_requests``) with the same ``request_key()``, which
    the INSERT stores in a column with a unique index, and this time sends
    ``insert_again``, the same INSERT that skips a row whose key is stored
    (ON CONFLICT DO NOTHING). A first run that landed is then found by
    ``find`` (its row by that key); one still running is waited for by
    PostgreSQL's check of the index. Stored once either way, with no COMMIT
    to settle. (A plain INSERT first: SQLAlchemy caches no ON CONFLICT, and
    compiling one costs a third of the request.)"""
    if engine.dialect.name != "postgresql":
        raise RuntimeError("insert_once is for PostgreSQL: use the session elsewhere")
    again = has_request_context() and g.get("db_runs", 1) > 1
    with autocommit(engine) as connection:
        row = connection.execute(insert_again if again else insert, values).one_or_none()
        if row is None and again:  # nothing new: the first run's row, or nothing to insert
            row = connection.execute(find, values).one_or_none()
    if has_request_context():
        g.db_committed = True  # as a session's commit notes it: never run again
    return row


def _outcome(engine: Engine, xid: str, seconds: float) -> str:
    """What became of transaction ``xid``: committed, aborted, or unknown (the
    database did not come back in time, or still runs it: a cut that was not a
    restart)."""
    deadline = time.monotonic() + seconds
    try:
        connection = engine.raw_connection()  # waits for a restart like any other
    except DBAPIError:
        return "unknown"
    try:
        cursor = connection.cursor()
        while True:
            cursor.execute("SELECT pg_xact_status(%s::xid8)", (xid,))
            row = cursor.fetchone()
            status = row[0] if row else None
            if status != "in progress" or time.monotonic() >= deadline:
                break
            time.sleep(RETRY_EVERY_SECONDS / 5)
        connection.rollback()
    except Exception:
        return "unknown"
    finally:
        connection.close()
    return status if status in ("committed", "aborted") else "unknown"


@contextlib.contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled connection on which each statement is its own transaction: no
    BEGIN before and no ROLLBACK after, two round trips fewer than a session.
    For a read of one statement (on READ COMMITTED, a statement sees one
    snapshot either way). psycopg2's autocommit flag is set in the client;
    SQLAlchemy's isolation_level option costs a round trip each way. A cut
    read runs again like any other (``retry_cut_requests``)."""
    with engine.connect() as connection:
        dbapi_connection: Any = connection.connection.dbapi_connection
        dbapi_connection.autocommit = True
        try:
            yield connection
        finally:
            if not dbapi_connection.closed:
                dbapi_connection.autocommit = False  # as the pool hands it out


def reads_alone(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose GET only reads, or writes one statement at a time:
    its statements run outside a transaction (``run_reads_alone``), which
    saves the BEGIN before them and the ROLLBACK after, two of a signed-in
    page's four round trips. A view with a write of two statements that must
    land together, or one that sets something for its transaction (SET
    LOCAL), must not be marked."""
    view.reads_alone = True  # type: ignore[attr-defined]
    return view


def run_reads_alone(app: Flask, session: Any) -> None:
    """Put a marked view's GET (``reads_alone``) on a connection in autocommit
    when the session first takes one: psycopg2 then sends no BEGIN, and the
    ROLLBACK at teardown is no round trip. The pool hands it back out as
    it was (``restore_transactions``). On READ COMMITTED each statement saw
    its own snapshot anyway; a commit in the request commits nothing more.

    Noted before any other hook of the request (the login session's read is
    one), and only for a request being served: a request context pushed
    by hand for "/" (``test_request_context``) keeps its transactions."""
    app.before_request(_note_reads_alone)
    if not event.contains(session, "after_begin", _alone_if_noted):
        event.listen(session, "after_begin", _alone_if_noted)


def _note_reads_alone() -> None:
    if request.method in ("GET", "HEAD"):
        view = current_app.view_functions.get(request.endpoint or "")
        g.reads_alone = getattr(view, "reads_alone", False)


def _alone_if_noted(_session: Any, _transaction: Any, connection: Connection) -> None:
    if has_request_context() and g.get("reads_alone") and connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]


def restore_transactions(engine: Engine) -> None:
    """A connection a read-alone request had goes back to the pool as the
    pool hands them out: in transactions."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkin")
    def in_transactions_again(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and not dbapi_connection.closed:
            dbapi_connection.autocommit = False


def retry_cut_requests(app: Flask, session: Any) -> None:
    """Run a request again, up to MAX_RUNS in all, when its connection was cut
    and nothing of it can have been committed: no commit finished earlier in
    the request, and none was under way, or the one under way was rolled back
    (``settle_cut_commits``).
    Before-request hooks run again too (the user's row is read anew); health
    probes are never retried."""
    # One listener, however many apps share the session (the tests make many).
    if not event.contains(session, "after_commit", _note_committed):
        event.listen(session, "after_commit", _note_committed)
    for name in ("preprocess_request", "dispatch_request"):
        setattr(app, name, _again_if_cut(getattr(app, name), session))


def _note_committed(_session: Any) -> None:
    if has_request_context():
        g.db_committed = True


def _may_run_again(error: DBAPIError) -> bool:
    if not error.connection_invalidated or request.blueprint == "health":
        return False
    if g.get("db_runs", 1) >= MAX_RUNS or g.get("db_committed") or g.get("db_unreachable"):
        return False
    return not g.get("db_commit_sent") or g.get("db_commit_outcome") == "aborted"


def _again_if_cut(step: Callable[[], Any], session: Any) -> Callable[[], Any]:
    def run() -> Any:
        while True:
            try:
                return step()
            except DBAPIError as error:
                if not _may_run_again(error):
                    raise
                g.db_runs = g.get("db_runs", 1) + 1
                g.db_commit_sent = g.db_commit_outcome = None
                log.warning(
                    "database connection cut on %s %s, running it again: %s",
                    request.method, request.path, str(error.orig).strip().splitlines()[0],
                )  # fmt: skip
                with contextlib.suppress(DBAPIError):
                    session.rollback()

    return run
