"""The stacks a benchmark runs against: the compose stack or the loopback one,
each as a Target with what the measurements need."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
from sqlalchemy import create_engine, text

from harness.compose import PRODUCTION, compose_command, started
from harness.loopback import NGINX, ROOT, WEB, LoopbackStack, own_database, stop
from harness.waiting import free_port, wait_for

from .load import CONNECTIONS

STACKS = {
    "compose": "the production compose stack (docker-compose.yml) with loadtests/bench.compose.yml",
    "loopback": "the loopback stack (Debian nginx, gunicorn and PostgreSQL on the host)",
}
# The app's per-address limits, out of the way of a load from one address.
UNLIMITED = {
    "AUTH_RATE_LIMIT": "1000/minute",
    "SEARCH_RATE_LIMIT": "1000000/minute",
    "API_WRITE_RATE_LIMIT": "1000000/minute",
}
DEFAULT_DATABASE = "postgresql://bulletin:bulletin@127.0.0.1:5432/bulletin_test"


@dataclass
class Target:
    """What the measurements need from a running stack, whichever it is."""

    direct: str  # gunicorn serving Bulletin, plain http
    proxied: str  # nginx in front of it, https
    hello: str  # gunicorn serving loadtests/hello.py
    floor: str  # gunicorn serving loadtests/floor.py, on the stack's database
    flask: Callable[..., str]  # runs a `flask` command where the app runs
    vacuum: Callable[[], None]  # VACUUM ANALYZE the seeded tables: no autovacuum mid-run
    sql: Callable[[str], str]  # the first value a query returns, as text
    worker_memory: Callable[[], list[float]]  # MB per gunicorn worker
    nginx_version: str


def answering(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=5).ok
        except requests.RequestException:
            return False

    return check


@contextmanager
def loopback_target() -> Iterator[Target]:
    """Debian's nginx, gunicorn and a database of the host's PostgreSQL, on loopback."""
    if not shutil.which(NGINX) and not os.path.exists(NGINX):
        raise SystemExit("bench: nginx is not installed (apt-get install nginx-light)")
    base_url = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_DATABASE
    )
    with tempfile.TemporaryDirectory() as folder, own_database(base_url, "_bench") as url:
        stack = LoopbackStack(Path(folder), url, {"LOG_LEVEL": "WARNING", **UNLIMITED})
        servers: list[subprocess.Popen] = []

        def serve(module: str, probe: str) -> str:
            """loadtests/<module>.py under the app's gunicorn config and environment."""
            port = free_port()
            env = {
                **stack.flask_env(),
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "PYTHONPATH": str(WEB),
            }
            command = [sys.executable, "-m", "gunicorn", "--config", str(WEB / "gunicorn.conf.py")]
            servers.append(
                subprocess.Popen(
                    [*command, "--chdir", str(ROOT / "loadtests"), f"{module}:app"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            url = f"http://127.0.0.1:{port}"
            wait_for(answering(f"{url}{probe}"), 30, f"loadtests/{module}.py answering")
            return url

        try:
            stack.start()
            hello, floor = serve("hello", "/"), serve("floor", "/healthz")

            def flask(*args: str) -> str:
                result = subprocess.run(
                    [sys.executable, "-m", "flask", *args],
                    cwd=WEB,
                    env=stack.flask_env(),
                    capture_output=True,
                    text=True,
                )
                if result.returncode != 0:
                    raise SystemExit(
                        f"bench: flask {' '.join(args)} failed:\n{result.stderr[-2000:]}"
                    )
                return result.stdout

            def vacuum() -> None:
                engine = create_engine(url, isolation_level="AUTOCOMMIT")
                with engine.connect() as connection:
                    connection.execute(text("VACUUM ANALYZE posts, tasks"))
                engine.dispose()

            def sql(query: str) -> str:
                engine = create_engine(url)
                with engine.connect() as connection:
                    value = connection.execute(text(query)).scalar()
                engine.dispose()
                return str(value)

            def worker_memory() -> list[float]:
                # The entrypoint execs gunicorn: its children are the workers.
                return [
                    child.memory_info().rss / 1e6
                    for child in psutil.Process(stack.app.pid).children()
                ]

            version = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr
            yield Target(
                f"http://127.0.0.1:{stack.app_port}",
                f"https://127.0.0.1:{stack.https_port}",
                hello,
                floor,
                flask,
                vacuum,
                sql,
                worker_memory,
                version.strip().removeprefix("nginx version: "),
            )
        finally:
            for server in servers:
                stop(server)
            stack.stop()


# Run inside the web container, where gunicorn is PID 1 and its workers are
# the processes whose parent is 1; prints each one's resident bytes.
WORKER_MEMORY = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()[1] != "1":
            continue
        rss = next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        continue
    print(int(rss.split()[1]) * 1024)
"""


@contextmanager
def compose_target() -> Iterator[Target]:
    """The production compose stack, with loadtests/bench.compose.yml's additions."""
    command = compose_command()
    if command is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        raise SystemExit(
            "bench: no Docker engine or compose command answers; start one, or "
            "measure the loopback stack instead: make bench STACK=loopback"
        )
    print("bench: building and starting the compose stack", flush=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        started(
            command,
            "bulletinbench",
            Path(folder),
            {
                "SECRET_KEY": secrets.token_urlsafe(48),
                "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
                **UNLIMITED,
                "LOG_LEVEL": "WARNING",
                "SERVER_NAME": "localhost",
            },
            files=(*PRODUCTION, "loadtests/bench.compose.yml"),
        ) as compose,
    ):
        hello = f"http://{compose.address('hello')}:8000"
        floor = f"http://{compose.address('floor')}:8000"
        for name, probe in ((hello, "/"), (floor, "/healthz")):
            wait_for(answering(f"{name}{probe}"), 60, f"{name} answering")

        def flask(*args: str) -> str:
            return compose.run("exec", "-T", "web", "flask", *args, timeout=3600).stdout

        def psql(*args: str, timeout: int) -> str:
            return compose.run(
                "exec",
                "-T",
                "db",
                "psql",
                "--username=bulletin",
                "--dbname=bulletin",
                *args,
                timeout=timeout,
            ).stdout.strip()

        def vacuum() -> None:
            psql("--command=VACUUM ANALYZE posts, tasks", timeout=1800)

        def sql(query: str) -> str:
            return psql("--no-align", "--tuples-only", f"--command={query}", timeout=600)

        def worker_memory() -> list[float]:
            output = compose.run("exec", "-T", "web", "python", "-c", WORKER_MEMORY).stdout
            return [int(line) / 1e6 for line in output.split()]

        version = compose.run("exec", "-T", "nginx", "nginx", "-v").stderr
        yield Target(
            f"http://{compose.address('web')}:8000",
            f"https://{compose.address('nginx')}",
            hello,
            floor,
            flask,
            vacuum,
            sql,
            worker_memory,
            version.strip().removeprefix("nginx version: ") + " in Docker",
        )


def machine(target: Target) -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as cpuinfo:
        cpu = next(
            line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
        )
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; "
        f"{platform.platform()}; host Python {platform.python_version()}; "
        f"{target.nginx_version}; wrk on the same machine, "
        f"{CONNECTIONS} connections, 2 threads"
    )
