"""The schedule runs once per tick however many workers; dead mail waits for a retry."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import text

from bulletin.extensions import db
from bulletin.models import LoginSession, utcnow
from bulletin.services import accounts

from .conftest import ON_POSTGRESQL, all_done, job_statuses, wait_for

pytestmark = ON_POSTGRESQL


def test_two_workers_run_each_tick_of_a_schedule_once(queue_app, workers):
    with queue_app.test_request_context():
        user = accounts.register_user(
            email="old@example.com", username="old", password="p" * 12, confirmed=True
        )
        long_ago = utcnow() - timedelta(days=400)
        db.session.add(
            LoginSession(id="s" * 64, user_id=user.id, created_at=long_ago, last_seen_at=long_ago)
        )
        db.session.commit()
    every_second = {"SCHEDULE_PRUNE_SESSIONS": "* * * * * *"}
    workers.start(**every_second)
    workers.start(**every_second)
    wait_for(
        lambda: job_statuses(queue_app, "schedule.prune_sessions").count("succeeded") >= 4,
        timeout=60,
        what="four ticks of the schedule",
    )
    workers.stop_all()
    with queue_app.app_context():
        ticks = db.session.scalars(
            text(
                "SELECT args ->> 'timestamp' FROM procrastinate_jobs"
                " WHERE task_name = 'schedule.prune_sessions'"
            )
        ).all()
        starts_per_job = db.session.scalars(
            text(
                "SELECT count(*) FROM procrastinate_events ev"
                " JOIN procrastinate_jobs job ON job.id = ev.job_id"
                " WHERE job.task_name = 'schedule.prune_sessions' AND ev.type = 'started'"
                " GROUP BY ev.job_id"
            )
        ).all()
        assert db.session.get(LoginSession, "s" * 64) is None  # the job did its work
    per_tick = Counter(ticks)
    assert set(per_tick.values()) == {1}, per_tick
    # Each tick's job ran on one worker, once.
    assert len(starts_per_job) >= 4
    assert set(starts_per_job) == {1}


def test_a_mail_refused_on_every_try_is_dead_until_retried(queue_app, smtp, workers):
    inbox, _ = smtp
    inbox.refusing = True
    workers.start(MAIL_MAX_ATTEMPTS="2")
    with queue_app.test_request_context():
        accounts.send_password_reset("nobody-yet@example.com")  # no account: no mail
        accounts.register_user(email="dora@example.com", username="dora", password="p" * 12)
    wait_for(lambda: job_statuses(queue_app, "mail.deliver") == ["failed"], 60, "the mail to die")
    runner = queue_app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list", "--dead"])
    assert listed.exit_code == 0, listed.output
    assert "dead" in listed.output
    assert "dora@example.com" in listed.output
    metrics = queue_app.test_client().get("/metrics").text
    assert "bulletin_jobs_dead 1.0" in metrics
    assert 'bulletin_jobs{status="failed",task="mail.deliver"} 1.0' in metrics

    inbox.refusing = False
    retried = runner.invoke(args=["jobs", "retry", "--all-dead"])
    assert retried.exit_code == 0, retried.output
    assert "Queued 1 dead jobs again." in retried.output
    wait_for(lambda: all_done(queue_app, "mail.deliver", 1), 60, "the retried mail sent")
    assert [recipient for _, recipient in inbox.accepted] == ["dora@example.com"]
    assert "bulletin_jobs_dead 0.0" in queue_app.test_client().get("/metrics").text


def test_retrying_a_job_that_is_not_dead_says_which(queue_app):
    with queue_app.test_request_context():
        accounts.register_user(email="eve@example.com", username="eve", password="p" * 12)
    result = queue_app.test_cli_runner().invoke(args=["jobs", "retry", "1", "999"])
    assert result.exit_code != 0
    assert "not dead jobs: 1, 999" in result.output
    assert job_statuses(queue_app, "mail.deliver") == ["todo"]


def test_the_health_check_follows_the_workers_heartbeat(queue_app, workers, tmp_path, monkeypatch):
    runner = queue_app.test_cli_runner()
    monkeypatch.setenv("JOB_WORKER_ID_FILE", str(tmp_path / "worker-0.id"))
    missing = runner.invoke(args=["jobs", "health"])
    assert missing.exit_code == 1
    assert "no worker has registered yet" in missing.output
    process = workers.start()
    alive = runner.invoke(args=["jobs", "health"])
    assert alive.exit_code == 0, alive.output
    process.kill()
    process.wait()
    wait_for(
        lambda: runner.invoke(args=["jobs", "health"]).exit_code == 1,
        timeout=30,
        what="the killed worker's heartbeat to go stale",
    )
