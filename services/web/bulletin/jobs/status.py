"""What is in the queue, for `flask jobs`, /metrics and the scheduled upkeep.

Reads procrastinate's tables through the app's own session, and changes
them only through procrastinate's own queries (``procrastinate.sql``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from procrastinate import sql
from sqlalchemy import CursorResult, text

from ..extensions import db
from ..models import utcnow

# A failed job: its task raised on its last allowed try.
DEAD = "failed"
# procrastinate's queries use psycopg's %(name)s; a lone % must be doubled.
_LONE_PERCENT = re.compile(r"%(?![(s])")


def _procrastinate_query(name: str, **parameters: Any) -> CursorResult[Any]:
    query = _LONE_PERCENT.sub("%%", sql.queries[name])
    return db.session.connection().exec_driver_sql(query, parameters)


@dataclass(frozen=True)
class JobRow:
    id: int
    task: str
    status: str
    attempts: int
    scheduled_at: datetime | None
    created_at: datetime | None
    recipient: str | None


def list_jobs(statuses: Iterable[str]) -> list[JobRow]:
    """Jobs in ``statuses``, oldest first, with a mail's recipient where there is one."""
    rows = db.session.execute(
        text(
            "SELECT job.id, job.task_name, job.status::text, job.attempts, job.scheduled_at,"
            " (SELECT min(at) FROM procrastinate_events WHERE job_id = job.id) AS created_at,"
            " job.args ->> 'to' AS recipient"
            " FROM procrastinate_jobs job WHERE job.status::text = ANY(:statuses)"
            " ORDER BY job.id"
        ),
        {"statuses": list(statuses)},
    )
    return [JobRow(*row) for row in rows]


def retry(job_ids: Iterable[int]) -> int:
    """Queue dead jobs again, now; how many were."""
    retried = 0
    for job_id in job_ids:
        _requeue(job_id)
        retried += 1
    db.session.commit()
    return retried


def _requeue(job_id: int) -> None:
    """Back to waiting, due now; counted as one more try."""
    _procrastinate_query(
        "retry_job",
        job_id=job_id,
        retry_at=utcnow(),
        new_priority=None,
        new_queue_name=None,
        new_lock=None,
    )


def retry_stalled_jobs(seconds_since_heartbeat: float) -> list[int]:
    """Jobs ``doing`` on workers without a heartbeat that long, queued again; their ids."""
    stalled = _procrastinate_query(
        "select_stalled_jobs_by_heartbeat",
        queue=None,
        task_name=None,
        seconds_since_heartbeat=seconds_since_heartbeat,
    ).all()
    ids = [row.id for row in stalled]
    for job_id in ids:
        _requeue(job_id)
    db.session.commit()
    return ids


def delete_finished_jobs(older_than_hours: int) -> int:
    """Succeeded and cancelled jobs finished that long ago, deleted; how many."""
    result = _procrastinate_query(
        "delete_old_jobs",
        nb_hours=older_than_hours,
        queue=None,
        statuses=["succeeded", "cancelled", "aborted"],
    )
    db.session.commit()
    return int(result.rowcount)


@dataclass(frozen=True)
class QueueFigures:
    """For /metrics: jobs by task and status, and how long the oldest has waited."""

    by_task_and_status: dict[tuple[str, str], int]
    oldest_waiting_seconds: float


def figures() -> QueueFigures:
    counts = db.session.execute(
        text(
            "SELECT task_name, status::text, count(*) FROM procrastinate_jobs"
            " GROUP BY task_name, status"
        )
    ).all()
    # Waiting since it was due: its scheduled time, else when it was deferred.
    oldest = db.session.execute(
        text(
            "SELECT extract(epoch FROM now() - min(coalesce(job.scheduled_at, event.at)))"
            " FROM procrastinate_jobs job JOIN procrastinate_events event"
            " ON event.job_id = job.id AND event.type = 'deferred'"
            " WHERE job.status = 'todo' AND coalesce(job.scheduled_at, event.at) <= now()"
        )
    ).scalar()
    return QueueFigures(
        by_task_and_status={(task, status): count for task, status, count in counts},
        oldest_waiting_seconds=max(float(oldest or 0), 0.0),
    )
