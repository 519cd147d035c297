"""Real job workers against the test PostgreSQL, and an SMTP server the test controls.

Each worker is its own process (`flask jobs worker`), as in the stack; the
SMTP server is aiosmtpd on a free loopback port. Nothing is mocked: the
queue, the retries and the schedules are procrastinate's, in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import text

from bulletin import create_app
from bulletin.extensions import db
from harness.waiting import free_port, wait_for
from tests.conftest import empty_tables

# Only PostgreSQL has the queue; SQLite runs jobs inline (tests/integration).
ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
QUEUE_TABLES = "procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers"
NEVER = "0 0 1 1 *"  # a schedule that does not tick during a test


def empty_queue() -> None:
    db.session.execute(text(f"TRUNCATE {QUEUE_TABLES} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def queue_app(database_url: str) -> Iterator[Flask]:
    """The app with the database queue: what it asks for waits for a worker."""
    app = create_app(
        "testing",
        # As the workers are told (Workers below).
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "JOB_QUEUE": "database",
            "JOB_STALLED_SECONDS": 2,
        },
    )
    with app.app_context():
        empty_queue()
    yield app
    with app.app_context():
        empty_queue()
        empty_tables()
        db.engine.dispose()


class Inbox:
    """An SMTP server's decisions: refuse for a while, hold the first message, or accept.

    ``accepted`` lists (Message-ID, recipient) for each message answered
    250: what a real server would deliver.
    """

    def __init__(self) -> None:
        self.accepted: list[tuple[str, str]] = []
        self.refused = 0
        self.refusing = False
        self.hold_next = False
        self.delay_next = 0.0  # seconds before answering the next message, then 250
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Try again later"
        if self.delay_next:
            delay, self.delay_next = self.delay_next, 0.0
            self.holding.set()
            await asyncio.sleep(delay)
        elif self.hold_next:
            self.hold_next = False
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            # The sender vanished before the server answered: not delivered.
            return "451 4.4.2 Connection lost"
        message = email.message_from_bytes(envelope.content)
        for recipient in envelope.rcpt_tos:
            self.accepted.append((message["Message-ID"], recipient))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    inbox.release.set()
    controller.stop()


class Workers:
    """`flask jobs worker` processes, stopped (SIGTERM, then SIGKILL) after the test."""

    def __init__(self, database_url: str, smtp_port: int, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.environment = {
            **os.environ,
            "FLASK_APP": "bulletin",
            "FLASK_CONFIG": "development",
            "SECRET_KEY": "jobs-tests-" + "k" * 32,
            "DATABASE_URL": database_url,
            "JOB_QUEUE": "database",
            "SERVER_NAME": "bulletin.test",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_USE_TLS": "false",
            "MAIL_MAX_ATTEMPTS": "50",
            "MAIL_RETRY_BACKOFF": "1",  # a try every second
            "MAIL_TIMEOUT": "10",
            "JOB_STALLED_SECONDS": "2",
            "SCHEDULE_RECOVER_STALLED": "* * * * * *",  # every second
            "SCHEDULE_PRUNE_SESSIONS": NEVER,
            "SCHEDULE_PRUNE_JOBS": NEVER,
        }

    def start(self, **settings: str) -> subprocess.Popen:
        number = len(self.processes)
        with (self.folder / f"worker-{number}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "jobs", "worker"],
                env={
                    **self.environment,
                    "JOB_WORKER_ID_FILE": str(self.folder / f"worker-{number}.id"),
                    **settings,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        wait_for(
            lambda: (self.folder / f"worker-{number}.id").exists() or process.poll() is not None,
            timeout=60,
            what=f"worker {number} registering",
        )
        assert process.poll() is None, self.log(number)
        return process

    def log(self, number: int) -> str:
        return (self.folder / f"worker-{number}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(database_url, smtp, tmp_path) -> Iterator[Workers]:
    pool = Workers(database_url, smtp[1], tmp_path)
    yield pool
    pool.stop_all()


def job_statuses(app: Flask, task: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                text(
                    "SELECT status::text FROM procrastinate_jobs"
                    " WHERE task_name = :task ORDER BY id"
                ),
                {"task": task},
            )
        )


def all_done(app: Flask, task: str, count: int) -> bool:
    statuses = job_statuses(app, task)
    return len(statuses) == count and set(statuses) == {"succeeded"}


__all__ = ["NEVER", "ON_POSTGRESQL", "Inbox", "Workers", "all_done", "job_statuses", "wait_for"]
