"""Deletion and export through PostgreSQL's queue and a real worker."""

from __future__ import annotations

from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.models import DataExport, LoginSession, User
from bulletin.services import accounts

from .conftest import ON_POSTGRESQL, all_done, job_statuses, wait_for

pytestmark = ON_POSTGRESQL


def test_a_deletion_signs_out_at_once_and_the_worker_removes_the_rest(queue_app, smtp, workers):
    with queue_app.test_request_context():
        ann = accounts.register_user(
            email="ann@example.com", username="ann", password="p" * 12, confirmed=True
        )
        session_id = accounts.start_login_session(ann, remember=False)
        version = ann.token_version
        accounts.delete_account(ann, password="p" * 12)
        ann_id = ann.id
    # Before any worker: signed out everywhere, tokens revoked, name and address free.
    with queue_app.app_context():
        stored = db.session.get(User, ann_id)
        assert stored.token_version == version + 1
        assert db.session.get(LoginSession, session_id) is None
        assert stored.email != "ann@example.com"
    assert job_statuses(queue_app, "accounts.erase") == ["todo"]
    with queue_app.test_request_context():
        accounts.register_user(
            email="ann@example.com", username="ann", password="q" * 12, confirmed=True
        )

    workers.start()
    wait_for(lambda: all_done(queue_app, "accounts.erase", 1), 60, "the erase job")
    with queue_app.app_context():
        assert db.session.get(User, ann_id) is None
        assert (
            db.session.scalar(select(User.username).where(User.email == "ann@example.com")) == "ann"
        )


def test_an_export_is_built_by_the_worker_and_its_link_mailed(queue_app, smtp, workers):
    inbox, _ = smtp
    with queue_app.test_request_context():
        bob = accounts.register_user(
            email="bob@example.com", username="bob", password="p" * 12, confirmed=True
        )
        accounts.request_export(bob, requested_by=bob)
    workers.start()
    wait_for(lambda: all_done(queue_app, "mail.deliver", 1), 60, "the export's mail")
    assert [recipient for _, recipient in inbox.accepted] == ["bob@example.com"]
    with queue_app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(DataExport).where(DataExport.content.is_not(None))
            )
            == 1
        )
