"""Outgoing email: rendered from templates in the request, sent by a job.

The link in a mail is built when it is asked for; the worker only sends
it (bulletin/jobs/mail.py). Without ``MAIL_SERVER`` outside production the
message is written to the log, so a developer can follow the confirmation
link from the console.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app, render_template

# The module, not its function: bulletin.jobs' scheduled work imports the
# services that import this, so the name is looked up at call time.
from .. import jobs
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


def send_email(to: str, subject: str, template: str, **context: object) -> None:
    """Render ``template``.txt and .html for ``to`` now, and queue their sending.

    The job commits with the caller's transaction (bulletin/jobs): the
    caller commits. At most MAIL_RECIPIENT_LIMIT mails go to one address,
    whoever asks for them: past it a mail is dropped with a log line, and
    the page that asked answers as usual, so a flood of reset requests from
    many addresses reaches nobody's inbox and tells nobody anything.
    """
    config = current_app.config
    if throttle.spend(config["MAIL_RECIPIENT_LIMIT"], ("mail-to", throttle.typed(to))) is not None:
        log.warning("mail %r not sent: MAIL_RECIPIENT_LIMIT reached for its recipient", subject)
        return
    jobs.enqueue(
        "mail.deliver",
        key=uuid.uuid4().hex,
        to=to,
        subject=config["MAIL_SUBJECT_PREFIX"] + subject,
        body=render_template(f"{template}.txt", **context),
        html=render_template(f"{template}.html", **context),
    )
