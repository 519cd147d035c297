"""The worker service: runs jobs until SIGTERM, then finishes the ones in hand.

Jobs are fetched with row locks (``FOR UPDATE SKIP LOCKED``), so any number
of workers share the queue and no job runs twice at once. On SIGTERM the
worker takes no new job and waits for those running; one killed outright
stops its heartbeat, and another worker queues its jobs again
(``schedule.recover_stalled``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

import procrastinate
from flask import Flask
from procrastinate.worker import Worker
from sqlalchemy import make_url, text

from ..extensions import db
from .queue import build_procrastinate

log = logging.getLogger(__name__)


def worker_id_file() -> Path:
    """Where the worker writes its id once registered, for the health check."""
    return Path(os.environ.get("JOB_WORKER_ID_FILE") or "/tmp/bulletin-worker-id")  # noqa: S108  (the container's own tmpfs)


def libpq_url(sqlalchemy_url: str) -> str:
    """DATABASE_URL as libpq reads it: no SQLAlchemy driver name."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def run_worker(app: Flask, *, concurrency: int, wait: bool = True) -> None:
    """Run jobs until stopped (or, ``wait=False``, until none is left)."""
    config = app.config
    # SMTP through smtplib has no timeout of its own: a server that accepts
    # the connection and says nothing would hold a worker thread forever.
    socket.setdefaulttimeout(config["MAIL_TIMEOUT"])
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(config["SQLALCHEMY_DATABASE_URI"]),
        min_size=1,
        max_size=concurrency + 2,  # the jobs, the fetch loop, the heartbeat
    )
    queue = build_procrastinate(app, connector)
    asyncio.run(
        _run(queue, concurrency=concurrency, wait=wait, stalled=config["JOB_STALLED_SECONDS"])
    )


async def _run(queue: procrastinate.App, *, concurrency: int, wait: bool, stalled: int) -> None:
    async with queue.open_async():
        worker = Worker(
            queue,
            concurrency=concurrency,
            wait=wait,
            name=socket.gethostname(),
            update_heartbeat_interval=max(stalled / 3, 1),
            stalled_worker_timeout=stalled,
        )
        announcer = asyncio.create_task(_write_worker_id(worker))
        try:
            await worker.run()
        finally:
            announcer.cancel()


async def _write_worker_id(worker: Worker) -> None:
    while worker.worker_id is None:
        await asyncio.sleep(0.2)
    worker_id_file().write_text(str(worker.worker_id))
    log.info("job worker %d started", worker.worker_id)


def healthy(max_silence: float) -> str | None:
    """None when this container's worker beat within ``max_silence`` s; else why not."""
    path = worker_id_file()
    try:
        worker_id = int(path.read_text())
    except (OSError, ValueError):
        return f"no worker has registered yet ({path} is missing)"
    beat = db.session.execute(
        text(
            "SELECT extract(epoch FROM now() - last_heartbeat) FROM procrastinate_workers"
            " WHERE id = :id"
        ),
        {"id": worker_id},
    ).scalar()
    if beat is None:
        return f"worker {worker_id} is not registered any more"
    if beat > max_silence:
        return f"worker {worker_id} last beat {beat:.0f} s ago"
    return None
