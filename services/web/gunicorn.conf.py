"""Gunicorn settings for Bulletin: `gunicorn -c gunicorn.conf.py bulletin.wsgi:app`.

Every value can be changed through the environment variable named beside it.
"""

import json
import os
import select
import shutil
import tempfile
import time

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

# The app holds the default worker and thread counts, which its connections
# budget multiplies too. gunicorn puts its working directory (services/web,
# /app in the image) on the import path before it reads this file.
from bulletin.runtime.connection_budget import DEFAULT_THREADS, default_workers


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Listen on every interface of the container; only nginx can reach it, since
# compose publishes no port for the web service.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Workers: processes with a few threads each (gthread, RefusingThreadWorker
# below), so one slow request does not block a worker. The default follows the
# CPU count (2 x cores + 1).
workers = _int("GUNICORN_WORKERS", default_workers())
threads = _int("GUNICORN_THREADS", DEFAULT_THREADS)
# Heartbeat files in memory: a container's /tmp may be slow or read-only.
worker_tmp_dir = "/dev/shm"  # noqa: S108  (private to the container)

# gunicornc's control socket wants a writable home; the image's is read-only.
# Set GUNICORN_CONTROL_SOCKET to a path to have one.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# Recycle each worker after about this many requests, staggered by the
# jitter so they do not all restart at once: a guard against slow leaks, and
# what keeps a worker under 120 MB. A recycle costs the requests around it:
# at 20,000 the task list's p99 at 70 % of its peak fell from 23-63 ms to
# 15-17 ms (loopback), but one worker had grown to 130 MB after a benchmark
# run (run 16, loadtests/RESULTS.md), so it stays at 2,000 until that growth
# is found.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# A request may take this long before its worker is killed and restarted.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests in flight get this long to finish. Keep it below
# compose's stop_grace_period (35 s), which is when Docker sends SIGKILL.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# nginx keeps idle upstream connections open; outlive its keepalive_timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Trust X-Forwarded-* only from these addresses. In compose only nginx can
# connect; the app itself applies the headers through ProxyFix (PROXY_HOPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


class RefusingThreadWorker(ThreadWorker):
    """gthread, except that a stopping worker closes its listening socket at
    once, not when the requests in flight are done.

    gthread stops accepting on SIGTERM but keeps the socket open meanwhile:
    the kernel still completes nginx's new connections and queues them there,
    then resets them when the worker exits, after nginx sent the request, and
    nginx retries no POST whose request it sent. Closed, the socket refuses
    them, and nginx sends each to another replica (make deploy, Swarm and
    Kubernetes updates rely on it). Connections already queued are accepted
    and answered before the close, so none is reset.
    """

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        # gthread calls this with False as its loop ends: outside the event
        # dispatch, so no event is left for a socket closed here.
        if not enabled and not self.alive:
            for listener in self.sockets:
                self._accept_queued(listener)
                listener.close()

    def _accept_queued(self, listener):
        room = max(self.worker_connections - self.nr_conns, 0)
        while room and select.select([listener], [], [], 0)[0]:
            self.accept(listener)  # served by the threads; run() waits for them
            room -= 1


worker_class = RefusingThreadWorker

# Logs: one access line per request on stdout, with nginx's request id and
# the time taken in microseconds; errors on stderr.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus request_id=%({x-request-id}i)s ua="%(a)s"'


class JsonAccessLogger(Logger):
    """Access lines as JSON objects (LOG_FORMAT=json), like the app's own lines,
    so a log pipeline parses both without a pattern. json.dumps escapes what
    a client sends (quotes in a User-Agent cannot break the line)."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "asctime": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "name": "gunicorn.access",
            "remote_addr": atoms["h"],
            "request": atoms["r"],
            "status": atoms["s"],
            "bytes": atoms["b"],
            "duration_us": int(atoms["D"]),
            "request_id": atoms.get("{x-request-id}i", "-"),
            "user_agent": atoms["a"],
        }
        self.access_log.info(json.dumps(line))


# The app's own default: JSON in production, text elsewhere.
_production = os.environ.get("FLASK_CONFIG") == "production"
if (os.environ.get("LOG_FORMAT") or ("json" if _production else "text")) == "json":
    logger_class = JsonAccessLogger

# Metrics: prometheus_client's multiprocess mode. Each worker writes its
# counts to files in this directory and /metrics sums them (bulletin/runtime/metrics.py).
# One directory per gunicorn master, emptied at start, so counts of a previous
# run or of another server on the same machine never mix in.
# A directory set by the operator is theirs to empty between runs.
_made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bulletin-metrics-")


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# Imported once the directory is set: prometheus_client picks its multiprocess
# storage when imported. The master counts its workers' exits (a crash, a
# timeout, a memory kill: the WorkersRestarting alert), in a file of its own.
from prometheus_client import Counter, multiprocess  # noqa: E402

WORKER_EXITS = Counter(
    "bulletin_gunicorn_worker_exits",
    "gunicorn workers that exited (crashed, timed out, killed, or stopped with the server).",
)


def child_exit(server, worker):
    """A worker that exits stops counting in the live gauges (pool use), and is counted."""
    multiprocess.mark_process_dead(worker.pid)
    WORKER_EXITS.inc()


# Development: reload on code changes (compose sets GUNICORN_RELOAD=1).
reload = os.environ.get("GUNICORN_RELOAD", "") == "1"

# The app is imported once, in the master, and each worker is a fork of it: a
# worker that max_requests recycles (every few seconds per worker under load)
# or that crashed starts at once, instead of importing and building the app
# again (1.5 s of CPU each, a sixth of two cores at 450 requests/s). Not with
# reload, which must import afresh.
preload_app = not reload


def _bulletin(server):
    """The app gunicorn serves, when it is Bulletin; None for another app under
    this config (the benchmark's floors)."""
    app = server.app.wsgi()
    return app if "sqlalchemy" in getattr(app, "extensions", {}) else None


def when_ready(server):
    """With the app preloaded: compile its templates and freeze its objects
    before the first fork (bulletin/runtime/forking.py says why)."""
    app = _bulletin(server) if preload_app else None
    if app is None:
        return
    from bulletin.runtime.forking import prepare_for_fork

    prepare_for_fork(app)


def post_fork(server, worker):
    """Each worker opens its own database connections: none made before the
    fork may be shared (SQLAlchemy's documented way, close=False)."""
    from bulletin.extensions import db

    app = _bulletin(server)
    if app is None:
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


# Tokens in emailed links stay out of the access log: the app adds a filter to
# the gunicorn.access logger when each worker builds it (bulletin/runtime/logs.py).
