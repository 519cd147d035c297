"""Email: sent off the request thread, or written to the log without a mail server."""

from __future__ import annotations

import logging

from bulletin import create_app
from bulletin.core.mail import send_email
from bulletin.extensions import mail


def _send(app, **config):
    app.config.update(config)
    with app.test_request_context():
        return send_email(
            "reader@example.com",
            "Hello",
            "auth/email/confirm",
            user=type("U", (), {"username": "reader"})(),
            url="http://localhost/auth/confirm/abc",
        )


def test_mail_is_sent_on_a_background_thread(app):
    with mail.record_messages() as outbox:
        thread = _send(app, MAIL_SEND_ASYNC=True)
        assert thread is not None
        thread.join(timeout=10)
    assert len(outbox) == 1
    message = outbox[0]
    assert message.subject == "[Bulletin] Hello"
    assert "http://localhost/auth/confirm/abc" in message.body
    assert '<a href="http://localhost/auth/confirm/abc">' in message.html


def test_without_mail_server_the_message_goes_to_the_log(caplog):
    app = create_app(
        "development",
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "MAIL_SERVER": None, "MAIL_SEND_ASYNC": False},
    )
    caplog.set_level(logging.INFO, logger="bulletin.core.mail")
    _send(app)
    assert "MAIL_SERVER is not set" in caplog.text
    assert "http://localhost/auth/confirm/abc" in caplog.text


def test_production_without_mail_server_logs_no_body(caplog, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("SERVER_NAME", "bulletin.example.com")
    monkeypatch.setenv("GUNICORN_WORKERS", "1")
    app = create_app(
        "production",
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "MAIL_SERVER": None, "MAIL_SEND_ASYNC": False},
    )
    caplog.set_level(logging.INFO, logger="bulletin.core.mail")
    _send(app)
    assert "not sent" in caplog.text
    assert "/auth/confirm/abc" not in caplog.text
