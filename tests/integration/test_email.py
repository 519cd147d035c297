"""Email: rendered when asked for, sent once its transaction commits, or logged without a server.

These run the inline queue (the test settings); tests/jobs runs the same
mail through PostgreSQL and real worker processes.
"""

from __future__ import annotations

import logging

import pytest

from bulletin import create_app
from bulletin.core.mail import send_email
from bulletin.extensions import db, mail
from bulletin.jobs.mail import deliver
from bulletin.models import SentMail
from harness.waiting import free_port


def _ask(app, *, commit=True):
    with app.test_request_context():
        send_email(
            "reader@example.com",
            "Hello",
            "auth/email/confirm",
            user=type("U", (), {"username": "reader"})(),
            url="http://localhost/auth/confirm/abc",
        )
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def test_mail_is_sent_when_its_transaction_commits(app):
    with mail.record_messages() as outbox:
        _ask(app)
    assert len(outbox) == 1
    message = outbox[0]
    assert message.subject == "[Bulletin] Hello"
    assert "http://localhost/auth/confirm/abc" in message.body
    assert '<a href="http://localhost/auth/confirm/abc">' in message.html
    # Its key is its Message-ID, and is kept so that a second run sends nothing.
    with app.app_context():
        key = db.session.scalars(db.select(SentMail.key)).one()
    assert message.msgId.startswith(f"<{key}@")


def test_a_rolled_back_transaction_sends_nothing(app):
    with mail.record_messages() as outbox:
        _ask(app, commit=False)
    assert outbox == []


def test_a_mail_whose_key_was_sent_is_not_sent_again(app):
    fields = {"key": "k" * 32, "to": "a@example.com", "subject": "s", "body": "b", "html": "h"}
    with mail.record_messages() as outbox, app.app_context():
        deliver(**fields)
        deliver(**fields)
    assert len(outbox) == 1


@pytest.fixture
def app_without_mail_server(monkeypatch):
    def build(config_name):
        app = create_app(config_name, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "MAIL_SERVER": None})
        with app.app_context():
            db.create_all()
        return app

    return build


def test_without_mail_server_the_message_goes_to_the_log(app_without_mail_server, caplog):
    app = app_without_mail_server("development")
    caplog.set_level(logging.INFO, logger="bulletin.jobs.mail")
    _ask(app)
    assert "MAIL_SERVER is not set" in caplog.text
    assert "http://localhost/auth/confirm/abc" in caplog.text


def test_production_without_mail_server_logs_no_body(app_without_mail_server, caplog, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("SERVER_NAME", "bulletin.example.com")
    monkeypatch.setenv("GUNICORN_WORKERS", "1")
    app = app_without_mail_server("production")
    caplog.set_level(logging.INFO, logger="bulletin.jobs.mail")
    _ask(app)
    assert "not sent" in caplog.text
    assert "/auth/confirm/abc" not in caplog.text


def test_an_inline_mail_that_fails_is_logged_and_the_change_stands(caplog):
    """No worker on SQLite: a refused SMTP connection is logged, not raised into the request."""
    app = create_app(
        "development",
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": free_port(),
        },
    )
    with app.app_context():
        db.create_all()
    caplog.set_level(logging.ERROR, logger="bulletin.jobs.queue")
    _ask(app)  # nothing listens on that port
    assert "inline job mail.deliver failed" in caplog.text
    with app.app_context():
        assert db.session.scalars(db.select(SentMail)).all() == []
