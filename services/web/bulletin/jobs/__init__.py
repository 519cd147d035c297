"""Work done after the request, by the worker service: mail, and what runs on a schedule.

``enqueue`` puts a job in the current database transaction, so it exists
exactly when the change that asked for it commits (bulletin/jobs/queue.py).
"""

from .queue import enqueue, init_jobs, job_queue

__all__ = ["enqueue", "init_jobs", "job_queue"]
