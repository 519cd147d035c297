"""Mail through the job queue: what it adds to a registration, and how fast a worker sends.

    .venv/bin/python -m loadtests.mail_bench [--registrations 400] [--mails 1000]

Needs PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL): a database of
its own is made beside that one and dropped at the end. A registration is
timed with its confirmation mail (rendered, and its job inserted in the
account's transaction) and without (a confirmed account, no mail), in turns,
and the medians compared: that difference is the queue's cost on a
registration (target: under 2 ms). argon2 is at its cheapest here, so the
password hash does not drown the difference. Then one `flask jobs worker`
process sends a batch of mails to an SMTP sink on loopback (aiosmtpd), and
the mails per second are printed. Exits 0 either way: this measures.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import text

from bulletin import create_app
from bulletin.extensions import db
from bulletin.jobs import enqueue
from bulletin.services import accounts
from harness.loopback import own_database
from harness.waiting import free_port, wait_for

TARGET_MS = 2.0
CHEAP_ARGON2 = {"ARGON2_MEMORY_KIB": 64, "ARGON2_TIME_COST": 1}


class Sink:
    """Accepts every message and counts it."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received += 1
        return "250 OK"


def registration_ms(app, name: str, *, confirmed: bool) -> float:
    with app.test_request_context():
        started = time.perf_counter()
        accounts.register_user(
            email=f"{name}@example.com", username=name, password="p" * 12, confirmed=confirmed
        )
        return (time.perf_counter() - started) * 1000


def queue_cost(app, count: int) -> tuple[float, float]:
    with_mail, without = [], []
    for n in range(count):
        with_mail.append(registration_ms(app, f"m{n}", confirmed=False))
        without.append(registration_ms(app, f"c{n}", confirmed=True))
        if (n + 1) % 100 == 0 or n + 1 == count:
            print(f"  timed {n + 1:,} of {count:,} pairs of registrations", file=sys.stderr)
    return statistics.median(with_mail), statistics.median(without)


def count(app, status: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                text("SELECT count(*) FROM procrastinate_jobs WHERE status::text = :s"),
                {"s": status},
            )
        )


def send_rate(app, url: str, mails: int) -> float:
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    folder = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    environment = {
        **os.environ,
        "FLASK_APP": "bulletin",
        "FLASK_CONFIG": "development",
        "SECRET_KEY": "mail-bench-" + "k" * 32,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_USE_TLS": "false",
        "JOB_WORKER_ID_FILE": str(folder / "worker.id"),
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for((folder / "worker.id").exists, 60, "the worker registering")
        with app.test_request_context():
            for n in range(mails):
                enqueue(
                    "mail.deliver",
                    key=f"bench-{n}",
                    to=f"reader{n}@example.com",
                    subject="Benchmark",
                    body="A line of text.",
                    html="<p>A line of text.</p>",
                )
            db.session.commit()
        started = time.monotonic()
        shown = 0
        while (done := count(app, "succeeded")) < mails:
            if done >= shown + mails // 5:
                shown = done
                print(f"  sent {done:,} of {mails:,} mails", file=sys.stderr)
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        smtp.stop()
    assert sink.received == mails, f"the sink got {sink.received} of {mails}"
    return mails / elapsed


def main() -> int:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per session
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=400, help="pairs to time")
    parser.add_argument("--mails", type=int, default=1000, help="mails for the worker to send")
    args = parser.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        print(
            "mail: skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL database"
        )
        return 0
    with own_database(base, "_mailbench") as url:
        app = create_app(
            "testing", {"SQLALCHEMY_DATABASE_URI": url, "JOB_QUEUE": "database", **CHEAP_ARGON2}
        )
        with app.app_context():
            upgrade()
        with_mail, without = queue_cost(app, args.registrations)
        with app.app_context():  # the registrations' own mails are not the batch
            db.session.execute(text("TRUNCATE procrastinate_jobs CASCADE"))
            db.session.commit()
        rate = send_rate(app, url, args.mails)
        with app.app_context():
            db.engine.dispose()
    added = with_mail - without
    verdict = "met" if added < TARGET_MS else "MISSED"
    print(
        f"mail: a registration takes {without:.2f} ms without its mail and {with_mail:.2f} ms "
        f"with it (median of {args.registrations:,}): the queue adds {added:.2f} ms, "
        f"target < {TARGET_MS:.0f} ms: {verdict}"
    )
    print(
        f"mail: one worker sent {args.mails:,} mails to a loopback SMTP sink at {rate:.0f} mails/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
