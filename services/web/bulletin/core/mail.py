"""Outgoing email: rendered from templates, sent off the request thread.

Without ``MAIL_SERVER`` outside production the message is written to the log,
so a developer can follow the confirmation link from the console.
"""

from __future__ import annotations

import logging
from threading import Thread
from typing import Any

from flask import Flask, current_app, render_template
from flask_mail import Message

from ..extensions import mail
from . import throttle

log = logging.getLogger(__name__)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail, always on the configured public host.

    Never from the request: its Host header is the client's to choose, and a
    reset link on an attacker's host hands them the token.
    """
    config = current_app.config
    adapter = current_app.url_map.bind(
        config["PUBLIC_HOST"],
        url_scheme=config["PREFERRED_URL_SCHEME"],
        script_name=config.get("APPLICATION_ROOT") or "/",
    )
    return adapter.build(endpoint, values, force_external=True)


def send_email(to: str, subject: str, template: str, **context: object) -> Thread | None:
    """Send ``template``.txt and .html to ``to``; returns the sending thread, if any.

    At most MAIL_RECIPIENT_LIMIT mails go to one address, whoever asks for
    them: past it a mail is dropped with a log line, and the page that asked
    answers as usual, so a flood of reset requests from many addresses
    reaches nobody's inbox and tells nobody anything.
    """
    # The real app, not the proxy: the sending thread has no app context.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    limit = app.config["MAIL_RECIPIENT_LIMIT"]
    if throttle.spend(limit, ("mail-to", throttle.typed(to))) is not None:
        log.warning("mail %r not sent: MAIL_RECIPIENT_LIMIT reached for its recipient", subject)
        return None
    message = Message(
        app.config["MAIL_SUBJECT_PREFIX"] + subject,
        recipients=[to],
        body=render_template(f"{template}.txt", **context),
        html=render_template(f"{template}.html", **context),
    )
    if not app.config["MAIL_SEND_ASYNC"]:
        _deliver(app, message)
        return None
    thread = Thread(target=_deliver, args=(app, message), daemon=True)
    thread.start()
    return thread


def _deliver(app: Flask, message: Message) -> None:
    with app.app_context():
        if app.config["MAIL_SERVER"] or app.testing:
            try:
                mail.send(message)
            except Exception:
                log.exception("sending mail %r to %s failed", message.subject, message.recipients)
        elif app.config["ENV_NAME"] == "production":
            log.warning(
                "MAIL_SERVER is not set: mail %r to %s not sent",
                message.subject,
                message.recipients,
            )
        else:
            log.info(
                "MAIL_SERVER is not set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s",
                ", ".join(map(str, message.recipients)),
                message.subject,
                message.body,
            )
