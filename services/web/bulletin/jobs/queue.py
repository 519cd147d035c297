"""The job queue: procrastinate on the app's PostgreSQL, or inline after the commit.

A job belongs to the transaction that asks for it. On PostgreSQL it is a
row in procrastinate's tables, inserted through the session's own
connection: a rollback takes the job with it, a commit makes both visible
at once, and no mail is ever sent for an account that does not exist, nor
lost for one that does. Inline (SQLite, the tests) keeps the same promise in
the process itself: jobs wait in the session and run after its commit.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import procrastinate
from flask import Flask, current_app
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..config import ConfigError
from ..extensions import db
from . import accounts, mail, schedule

log = logging.getLogger(__name__)

# Every kind of job, by the name stored with it. A rename strands the jobs
# already queued under the old name: keep the old one until they are done.
TASKS: dict[str, Callable[..., Any]] = {
    "mail.deliver": mail.deliver,
    "accounts.build_export": accounts.build_export,
    "accounts.erase": accounts.erase,
    "schedule.prune_sessions": schedule.prune_sessions,
    "schedule.prune_jobs": schedule.prune_jobs,
    "schedule.recover_stalled": schedule.recover_stalled,
}
# The periodic ones, with the setting that holds each one's cron schedule.
SCHEDULES = {
    "schedule.prune_sessions": "SCHEDULE_PRUNE_SESSIONS",
    "schedule.prune_jobs": "SCHEDULE_PRUNE_JOBS",
    "schedule.recover_stalled": "SCHEDULE_RECOVER_STALLED",
}


# Where the session keeps the jobs an inline transaction asked for.
PENDING = "bulletin.jobs.pending"


@dataclass
class JobQueue:
    """What ``init_jobs`` binds to an app: the mode, and procrastinate's app when it has one."""

    mode: str
    procrastinate: procrastinate.App | None = None

    def enqueue(self, task: str, arguments: Mapping[str, Any]) -> None:
        if task not in TASKS:
            raise KeyError(f"no job kind named {task!r}; known: {', '.join(TASKS)}")
        if self.procrastinate is None:
            # Through JSON, as PostgreSQL stores them: what would not survive
            # the database queue fails here too, on SQLite.
            stored = json.loads(json.dumps(arguments))
            db.session.info.setdefault(PENDING, []).append((task, stored))
            return
        deferrer = self.procrastinate.configure_task(task, connection=db.session.connection())
        deferrer.defer(**arguments)


def job_queue(app: Flask | None = None) -> JobQueue:
    queue: JobQueue = (app or current_app).extensions["jobs"]
    return queue


def enqueue(task: str, /, **arguments: Any) -> None:
    """Ask for ``task`` to run with ``arguments`` once the current transaction commits.

    The caller commits (or rolls back): the job shares that fate.
    ``arguments`` must be JSON: they are stored with the job.
    """
    job_queue().enqueue(task, arguments)


def init_jobs(app: Flask) -> None:
    mode = app.config["JOB_QUEUE"]
    if mode == "inline":
        app.extensions["jobs"] = JobQueue(mode)
        for name, listener in (
            ("after_commit", _run_inline_jobs),
            ("after_rollback", _drop_inline_jobs),
        ):
            if not event.contains(Session, name, listener):
                event.listen(Session, name, listener)
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        raise ConfigError(
            "JOB_QUEUE=database keeps jobs in PostgreSQL: set DATABASE_URL to a "
            "postgresql:// URL, or JOB_QUEUE=inline to run jobs in the web process."
        )
    queue = JobQueue(mode, build_procrastinate(app, SQLAlchemyPsycopg2Connector()))
    with app.app_context():
        # The web app defers through its own engine; the worker opens its own.
        queue.procrastinate.open(db.engine)  # type: ignore[union-attr]
    app.extensions["jobs"] = queue


def build_procrastinate(app: Flask, connector: Any) -> procrastinate.App:
    """procrastinate's app with every task bound to ``app``, and the schedules from its settings."""
    queue = procrastinate.App(connector=connector)
    config = app.config
    # A mail waits out an SMTP outage; a person's export or deletion rides
    # out a database blip; the periodic jobs simply run at their next tick.
    person = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)
    retries = {
        "mail.deliver": procrastinate.RetryStrategy(
            max_attempts=config["MAIL_MAX_ATTEMPTS"],
            exponential_wait=config["MAIL_RETRY_BACKOFF"],
        ),
        "accounts.build_export": person,
        "accounts.erase": person,
    }
    for name, run in TASKS.items():
        task = queue.task(name=name, retry=retries.get(name, False))(in_app_context(app, run))
        if name in SCHEDULES:
            # The worker defers one job per tick of the schedule, the tick's
            # time in a unique key: two workers cannot both defer it.
            queue.periodic(cron=config[SCHEDULES[name]], periodic_id=name)(task)
    return queue


def in_app_context(app: Flask, run: Callable[..., Any]) -> Callable[..., Any]:
    """``run`` inside an app context of its own: one session per job, per thread."""

    @functools.wraps(run)
    def in_context(*args: Any, **kwargs: Any) -> Any:
        with app.app_context():
            try:
                return run(*args, **kwargs)
            finally:
                db.session.remove()

    return in_context


def _run_inline_jobs(session: Session) -> None:
    """Inline mode: the jobs this transaction asked for, now that it committed."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    for task, arguments in pending:
        # A fresh app context: a session of its own, free to commit. The
        # change that asked has committed: a failure here is logged, not
        # raised into the request, and nothing retries it (no worker).
        try:
            in_app_context(app, TASKS[task])(**arguments)
        except Exception:
            log.exception("inline job %s failed; inline jobs are not retried", task)


def _drop_inline_jobs(session: Session) -> None:
    session.info.pop(PENDING, None)
