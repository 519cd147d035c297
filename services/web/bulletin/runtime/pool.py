"""Ping a pooled database connection before use only when it has sat idle.

pool_pre_ping asks PostgreSQL ``SELECT 1`` at every checkout: one more round
trip in every request. A connection handed back a moment ago is alive; one
idle for longer may have been cut (the database restarted, a firewall or
proxy dropped it), so only that one is pinged, and a dead one is replaced
before any request sees it. A connection that dies mid-request fails that
request (a 503, bulletin/errors.py), and SQLAlchemy then empties the pool,
so the next checkout connects afresh.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_PING_SECONDS = 1.0


def ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            # The pool drops this connection and checks out another (SQLAlchemy's
            # documented way to refuse a connection at checkout).
            raise DisconnectionError(f"an idle connection was gone: {error}") from error
