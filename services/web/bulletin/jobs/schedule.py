"""Periodic work, deferred by the workers on the schedules in the settings.

Each receives the tick's time (``timestamp``), which procrastinate stores
in a unique key: however many workers run, one job per tick.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from ..extensions import db
from ..models import DataExport, SentMail, utcnow
from ..services import accounts
from . import status

log = logging.getLogger(__name__)


def prune_sessions(timestamp: int) -> None:
    log.info("pruned %d expired sign-in sessions", accounts.prune_login_sessions())


def prune_jobs(timestamp: int) -> None:
    """What jobs leave behind: finished jobs and the keys of mail sent, after
    JOB_KEEP_HOURS, and data exports past their link's lifetime."""
    hours = current_app.config["JOB_KEEP_HOURS"]
    jobs = status.delete_finished_jobs(older_than_hours=hours)
    cutoff = utcnow() - timedelta(hours=hours)
    keys = db.session.execute(delete(SentMail).where(SentMail.sent_at < cutoff)).rowcount  # type: ignore[attr-defined]
    exports = db.session.execute(
        delete(DataExport).where(DataExport.expires_at < utcnow())
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    log.info(
        "pruned %d finished jobs, %d sent-mail keys (older than %d h), %d expired exports",
        jobs,
        keys,
        hours,
        exports,
    )


def recover_stalled(timestamp: int) -> None:
    """Run again the jobs held by workers that stopped without a word (SIGKILL, a lost node)."""
    for job_id in status.retry_stalled_jobs(current_app.config["JOB_STALLED_SECONDS"]):
        log.warning("job %d was held by a worker that stopped: queued again", job_id)
