"""Mail through the queue: it survives a refusing SMTP server and a killed worker, once."""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from sqlalchemy import text

from bulletin.extensions import db
from bulletin.services import ServiceError, accounts

from .conftest import ON_POSTGRESQL, all_done, job_statuses, wait_for

pytestmark = ON_POSTGRESQL


def register(app, name: str) -> None:
    with app.test_request_context():
        accounts.register_user(email=f"{name}@example.com", username=name, password="p" * 12)


def test_mail_asked_for_while_smtp_refuses_arrives_once_it_accepts(queue_app, smtp, workers):
    inbox, _ = smtp
    inbox.refusing = True
    workers.start()
    names = [f"reader{n}" for n in range(5)]
    for name in names:
        register(queue_app, name)
    wait_for(lambda: inbox.refused >= 2 * len(names), timeout=60, what="every mail refused twice")
    assert inbox.accepted == []

    inbox.refusing = False
    wait_for(lambda: all_done(queue_app, "mail.deliver", len(names)), 60, "every mail sent")
    recipients = Counter(recipient for _, recipient in inbox.accepted)
    assert recipients == {f"{name}@example.com": 1 for name in names}
    assert len({message_id for message_id, _ in inbox.accepted}) == len(names)


def test_a_worker_killed_while_sending_leaves_the_mail_to_another_once(queue_app, smtp, workers):
    inbox, _ = smtp
    inbox.hold_next = True
    first = workers.start()
    register(queue_app, "kate")
    assert inbox.holding.wait(timeout=60), workers.log(0)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    inbox.release.set()  # the killed worker's message was never answered 250

    workers.start()
    wait_for(lambda: all_done(queue_app, "mail.deliver", 1), 60, "the second worker's send")
    assert [recipient for _, recipient in inbox.accepted] == ["kate@example.com"]


def test_a_worker_told_to_stop_finishes_the_mail_in_hand(queue_app, smtp, workers):
    inbox, _ = smtp
    inbox.delay_next = 3.0  # the server takes its time with this one
    worker = workers.start()
    register(queue_app, "nina")
    assert inbox.holding.wait(timeout=60), workers.log(0)
    worker.send_signal(signal.SIGTERM)  # what docker stop and a rolling update send
    assert worker.wait(timeout=30) == 0, workers.log(0)
    assert [recipient for _, recipient in inbox.accepted] == ["nina@example.com"]
    assert job_statuses(queue_app, "mail.deliver") == ["succeeded"]


def test_a_registration_that_rolls_back_leaves_no_mail_job(queue_app):
    register(queue_app, "lena")
    assert job_statuses(queue_app, "mail.deliver") == ["todo"]
    # The same address again: the service refuses, and the transaction that
    # had already queued a mail for it is rolled back with it.
    with queue_app.test_request_context(), pytest.raises(ServiceError):
        accounts.register_user(email="LENA@example.com", username="lena2", password="p" * 12)
    # A failure the database finds at commit: the job goes with the row.
    with queue_app.test_request_context():
        db.session.execute(
            text("ALTER TABLE users ADD CONSTRAINT no_mia CHECK (username <> 'mia') NOT VALID")
        )
        db.session.commit()
    try:
        with queue_app.test_request_context(), pytest.raises(ServiceError):
            accounts.register_user(email="mia@example.com", username="mia", password="p" * 12)
    finally:
        with queue_app.app_context():
            db.session.execute(text("ALTER TABLE users DROP CONSTRAINT no_mia"))
            db.session.commit()
    assert job_statuses(queue_app, "mail.deliver") == ["todo"]
    with queue_app.app_context():
        queued_for = db.session.scalars(
            text("SELECT args ->> 'to' FROM procrastinate_jobs WHERE task_name = 'mail.deliver'")
        ).all()
    assert queued_for == ["lena@example.com"]
