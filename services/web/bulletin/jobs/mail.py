"""The mail job: one message, rendered when it was asked for, sent once.

The key is the message's idempotency key and its Message-ID. It is stored
(``SentMail``) as soon as the SMTP server accepts the message, so a job
that runs again, retried or taken over from a killed worker, finds it and
sends nothing. The one gap left is between the server's "250 OK" and that
row's commit: a worker killed there sends a second copy with the same
Message-ID, which mail clients show once.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_mail import Message

from ..extensions import db, mail
from ..models import SentMail

log = logging.getLogger(__name__)


def deliver(*, key: str, to: str, subject: str, body: str, html: str) -> None:
    if db.session.get(SentMail, key) is not None:
        log.info("mail %s was sent already: not sending it again", key)
        return
    config = current_app.config
    if not (config["MAIL_SERVER"] or current_app.testing):
        _log_instead(to, subject, body)
        return
    message = Message(subject, recipients=[to], body=body, html=html)
    domain = (config["PUBLIC_HOST"] or "bulletin").split(":")[0]
    message.msgId = f"<{key}@{domain}>"
    mail.send(message)  # raises while the server refuses: the job is retried
    db.session.add(SentMail(key=key))
    db.session.commit()


def _log_instead(to: str, subject: str, body: str) -> None:
    if current_app.config["ENV_NAME"] == "production":
        log.warning("MAIL_SERVER is not set: mail %r to %s not sent", subject, to)
        return
    log.info(
        "MAIL_SERVER is not set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s",
        to,
        subject,
        body,
    )
