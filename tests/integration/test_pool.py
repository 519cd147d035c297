"""Connections cut while idle (a database restart, a dropped firewall state)
are replaced before a request sees them, without a ping at every checkout;
one cut while in use costs one 503, then the pool recovers alone."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from bulletin.extensions import db
from bulletin.runtime import pool

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def cut_the_pooled_connection(app, database_url: str) -> None:
    """What a restart does to it: the server ends its backend."""
    with app.app_context():
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.rollback()
    admin = create_engine(database_url)
    with admin.connect() as connection:
        ended = connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert ended.scalar()
    admin.dispose()


def test_a_connection_cut_while_idle_is_replaced_unseen(app, client, database_url):
    assert client.get("/").status_code == 200
    cut_the_pooled_connection(app, database_url)
    time.sleep(pool.IDLE_PING_SECONDS + 0.2)
    assert client.get("/").status_code == 200


def test_a_connection_the_server_closed_is_replaced_without_a_ping(
    app, client, database_url, monkeypatch
):
    # Never idle long enough for a ping: the server's goodbye on the socket
    # (one select, no round trip) is what replaces it before the request.
    monkeypatch.setattr(pool, "IDLE_PING_SECONDS", 3600)
    assert client.get("/").status_code == 200
    cut_the_pooled_connection(app, database_url)
    assert client.get("/").status_code == 200


def test_a_pinged_connection_is_handed_out_outside_a_transaction(app, monkeypatch):
    # The ping's SELECT 1 began a transaction (psycopg2 does for any statement);
    # left open, a read outside a transaction failed on it (runtime/pool.py: autocommit).
    monkeypatch.setattr(pool, "IDLE_PING_SECONDS", 0)
    with app.app_context():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        with pool.autocommit(db.engine) as connection:
            assert connection.execute(text("SELECT 42")).scalar() == 42


def test_a_read_alone_view_runs_its_get_outside_a_transaction(fresh_app):
    # Each statement is then its own transaction: it starts when the statement
    # does. In a transaction the second statement starts after the first.
    @fresh_app.route("/alone", methods=["GET", "POST"])
    @pool.reads_alone
    def alone():
        db.session.execute(text("SELECT pg_sleep(0.01)"))
        same = "SELECT statement_timestamp() = transaction_timestamp()"
        return str(db.session.execute(text(same)).scalar())

    fresh_app.config["WTF_CSRF_ENABLED"] = False  # the POST is this test's, not a form's
    client = fresh_app.test_client()
    assert client.get("/alone").text == "True"
    assert client.post("/alone").text == "False"  # a POST keeps its transaction
    # A request context pushed by hand (a test's, a script's) is not a GET
    # being served: what it writes stays one transaction.
    with fresh_app.test_request_context("/alone"):
        assert alone() == "False"
        db.session.rollback()
    # The pool hands the connection out as it hands out every other: in transactions.
    with fresh_app.app_context(), db.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False
