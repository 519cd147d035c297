"""Prometheus metrics at /metrics, for the private network only.

Under gunicorn every worker counts alone; prometheus_client's multiprocess
mode keeps each worker's values in files under PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py makes and empties it) and /metrics adds them up, so one
scrape sees the whole server. Without that variable (flask run, the tests)
the values are this process's own.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, limiter
from ..jobs import job_queue, status

REQUESTS = Counter(
    "bulletin_http_requests_total",
    "Requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "bulletin_http_request_duration_seconds",
    "Time from the request reaching Flask to its response, by endpoint.",
    ["endpoint", "method"],
)
POOL_IN_USE = Gauge(
    "bulletin_db_pool_connections_in_use",
    "Database connections checked out of the pools, summed over live workers.",
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "bulletin_db_pool_connections_open",
    "Database connections the pools hold open, summed over live workers.",
    multiprocess_mode="livesum",
)

bp = Blueprint("metrics", __name__)


# Each pool event moves one gauge by one.
POOL_EVENTS = (
    ("connect", POOL_OPEN, 1),
    ("close", POOL_OPEN, -1),
    ("checkout", POOL_IN_USE, 1),
    ("checkin", POOL_IN_USE, -1),
)


def count_pool_connections(engine: Engine) -> None:
    """Keep the pool gauges of ``engine``'s connections."""
    for name, gauge, step in POOL_EVENTS:
        event.listen(engine, name, lambda *_args, gauge=gauge, step=step: gauge.inc(step))


class BackupCollector(Collector):
    """The backup service's status file, read at each scrape (services/backup)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        try:
            with open(self.path, encoding="utf-8") as file:
                status = json.load(file)
        except (OSError, ValueError):
            status = {}
        last = float(status.get("last_success") or 0)
        offsite = float(status.get("last_offsite_success") or 0)
        now = time.time()
        yield GaugeMetricFamily(
            "bulletin_backup_last_success_timestamp_seconds",
            "When the newest good backup finished (0: none yet).",
            value=last,
        )
        yield GaugeMetricFamily(
            "bulletin_backup_last_success_age_seconds",
            "Seconds since the newest good backup (+Inf: none yet).",
            value=now - last if last else math.inf,
        )
        yield GaugeMetricFamily(
            "bulletin_backup_last_offsite_success_timestamp_seconds",
            "When a backup was last copied off the machine (0: never).",
            value=offsite,
        )
        yield CounterMetricFamily(
            "bulletin_backup_failures",
            "Backups that failed, as the backup service counts them.",
            value=float(status.get("failures") or 0),
        )


class JobsCollector(Collector):
    """The job queue's tables, read at each scrape (bulletin/jobs/status.py).

    Counts come from the rows, not from counters in the workers: the
    workers serve no /metrics, and the rows are the truth any replica sees.
    """

    def collect(self) -> Iterator[Metric]:
        try:
            figures = status.figures()
        except SQLAlchemyError:
            db.session.rollback()
            return  # the database is away: /readyz and the request metrics say so
        jobs = GaugeMetricFamily(
            "bulletin_jobs",
            "Jobs by task and status (todo, doing, succeeded, failed: dead); "
            "finished ones are kept JOB_KEEP_HOURS.",
            labels=["task", "status"],
        )
        for (task, state), count in sorted(figures.by_task_and_status.items()):
            jobs.add_metric([task, state], count)
        yield jobs
        waiting = sum(n for (_, state), n in figures.by_task_and_status.items() if state == "todo")
        yield GaugeMetricFamily(
            "bulletin_job_queue_depth", "Jobs waiting to run, due or not.", value=waiting
        )
        yield GaugeMetricFamily(
            "bulletin_job_oldest_waiting_seconds",
            "How long the oldest due job has waited for a worker (0: none waits).",
            value=figures.oldest_waiting_seconds,
        )
        dead = sum(
            n for (_, state), n in figures.by_task_and_status.items() if state == status.DEAD
        )
        yield GaugeMetricFamily(
            "bulletin_jobs_dead",
            "Jobs that failed their last try: `flask jobs list --dead`.",
            value=dead,
        )


class RateLimitStorageCollector(Collector):
    """Whether the shared rate-limit counts (redis) answer, asked at each scrape."""

    def collect(self) -> Iterator[Metric]:
        try:
            up = bool(limiter.storage.check())
        except Exception:  # the storage's own error: it is down, which is the answer
            up = False
        yield GaugeMetricFamily(
            "bulletin_rate_limit_storage_up",
            "1 while the shared rate-limit storage answers; 0: each process counts alone.",
            value=float(up),
        )


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    """The metrics of every worker. nginx refuses /metrics; a request that came
    through a proxy anyway (X-Forwarded-For) is refused here as well."""
    if "X-Forwarded-For" in request.headers:
        abort(404)
    registry = _registry()
    output = generate_latest(registry)
    status_file = current_app.config["BACKUP_STATUS_FILE"]
    if status_file:
        backup = CollectorRegistry()
        backup.register(BackupCollector(status_file))
        output += generate_latest(backup)
    extra = CollectorRegistry()
    extra.register(RateLimitStorageCollector())
    if job_queue().procrastinate is not None:
        extra.register(JobsCollector())
    output += generate_latest(extra)
    return Response(output, mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


def init_metrics(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)
