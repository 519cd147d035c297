"""The measurements, in order: the ceiling and the floor, then each route at
1 thousand and at the large number of rows, then latency at a paced load."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import requests

from bulletin.core.pagination import encode_cursor
from harness.loopback import WEB

from .load import CONNECTIONS, CREATE_TASK, SITE, Run, paced, wrk
from .ratios import (
    CREATE,
    DEEP,
    HOME,
    KEY_AT,
    PACED,
    POSTS,
    SEARCH_QUERY,
    SIGNED_IN,
    TASKS,
    WORST_SEARCH,
)
from .targets import Target, machine

SEED_PASSWORD = "bulletin-seed"
SEED_EMAIL = "user1@example.com"


def signed_in_cookie(direct: str) -> str:
    """The cookies of the first seeded user signed in through the login form and
    shown the home page once, as a browser holds them then, as a Cookie header.
    Sent by hand: the stack marks them Secure, and gunicorn is reached over
    plain HTTP (X-Forwarded-Proto says https, as nginx would)."""
    headers = {**SITE, "X-Forwarded-Proto": "https"}

    def jar(*answers: requests.Response) -> str:
        cookies = {cookie.name: cookie.value for answer in answers for cookie in answer.cookies}
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    form = requests.get(f"{direct}/auth/login", headers=headers, timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    answer = requests.post(
        f"{direct}/auth/login",
        data={
            "csrf_token": token[1] if token else "",
            "email": SEED_EMAIL,
            "password": SEED_PASSWORD,
        },
        headers={**headers, "Referer": f"https://{SITE['Host']}/auth/login", "Cookie": jar(form)},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise SystemExit(f"bench: signing in as {SEED_EMAIL} answered {answer.status_code}")
    # The first page adds the session's CSRF token (the sign-out form has one);
    # without it every measured page would make one and write the cookie anew.
    home = requests.get(f"{direct}/", headers={**headers, "Cookie": jar(answer)}, timeout=30)
    return jar(answer, home)


@dataclass
class Measured:
    runs: list[Run]
    worker_memory: list[float]  # MB per gunicorn worker after the runs
    machine: str


def measure_all(target: Target, seconds: int, large: int) -> Measured:
    """Every run against ``target``, each printed as it ends."""
    runs: list[Run] = []

    def show(run: Run) -> None:
        runs.append(run)
        print(
            f"bench: {run.name:58} {run.rows:3} {run.requests_per_second:9,.0f} req/s "
            f"p50 {run.p50_ms:6.1f} ms p99 {run.p99_ms:6.1f} ms errors {run.errors}",
            flush=True,
        )

    def measure(
        name: str, rows: str, url: str, headers=None, connections: int = CONNECTIONS, script=None
    ) -> None:
        show(Run(name, rows, *wrk(url, seconds, headers, connections, script)))

    static = next(p.name for p in (WEB / "bulletin/static").iterdir() if p.suffix == ".css")
    measure("a. static file, nginx + TLS", "–", f"{target.proxied}/static/{static}")
    measure("b. hello-world Flask, gunicorn", "–", f"{target.hello}/")
    for rows, count in (("1k", 1000), ("1M", large)):
        print(f"bench: seeding {count:,} posts and tasks", flush=True)
        existing = 1000 if rows == "1M" else 0
        seeded = target.flask(
            "seed",
            "--force",  # the stacks run the production config
            "--password",
            SEED_PASSWORD,
            "--users",
            "0" if existing else "50",
            "--posts",
            str(count - existing),
            "--tasks",
            str(count - existing),
        )
        print(f"bench: {seeded.splitlines()[0]}", flush=True)
        target.vacuum()
        token = requests.post(
            f"{target.direct}/api/v1/tokens",
            headers=SITE,
            timeout=30,
            auth=(SEED_EMAIL, SEED_PASSWORD),
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        cookie = {"Cookie": signed_in_cookie(target.direct)}
        # The raw floor (loadtests/floor.py) and the app, doing the same work.
        for prefix, base in (("b. raw floor", target.floor), ("c.", target.direct)):
            measure(f"{prefix} {TASKS}, gunicorn", rows, f"{base}/api/v1/tasks", auth)
            measure(
                f"{prefix} {CREATE}, gunicorn",
                rows,
                f"{base}/api/v1/tasks",
                auth,
                script=CREATE_TASK,
            )
            # Thousands of new tasks: at 1k rows past autovacuum's threshold,
            # which then ran during the next rows (the app's, after the floor's).
            target.vacuum()
            measure(f"{prefix} {HOME} {SIGNED_IN}, gunicorn", rows, f"{base}/", cookie)
        measure(f"c. {HOME}, gunicorn", rows, f"{target.direct}/")
        measure(f"d. {TASKS}, nginx + TLS", rows, f"{target.proxied}/api/v1/tasks", auth)
        # A visitor (no cookie): nginx answers from its page cache.
        measure(f"d. {HOME}, nginx + TLS", rows, f"{target.proxied}/")
        measure(f"d. {HOME} {SIGNED_IN}, nginx + TLS", rows, f"{target.proxied}/", cookie)
        # One connection: the work of a single request, without the queue.
        measure(
            f"c. {TASKS}, gunicorn, 1 connection",
            rows,
            f"{target.direct}/api/v1/tasks",
            auth,
            connections=1,
        )
        measure(f"c. {HOME}, gunicorn, 1 connection", rows, f"{target.direct}/", connections=1)
        # The first page and one half the posts deep (500,000 at 1M): a
        # cursor made from the key of the post there, as an Older link holds.
        key = target.sql(KEY_AT.format(offset=int(count // 2)))
        deep = encode_cursor({"after": json.loads(key)})
        measure(
            f"c. {HOME} {DEEP}, gunicorn, 1 connection",
            rows,
            f"{target.direct}/?cursor={deep}",
            connections=1,
        )
        measure(
            f"c. {POSTS}, gunicorn, 1 connection",
            rows,
            f"{target.direct}/api/v1/posts",
            auth,
            connections=1,
        )
        measure(
            f"c. {POSTS} {DEEP}, gunicorn, 1 connection",
            rows,
            f"{target.direct}/api/v1/posts?cursor={deep}",
            auth,
            connections=1,
        )
        # Search: two of the seeded words, so the query must combine them.
        measure(
            "e. GET /search, gunicorn, 1 connection",
            rows,
            f"{target.direct}/search?q={SEARCH_QUERY}",
            connections=1,
        )
        measure(
            "e. GET /search, the worst query, gunicorn, 1 connection",
            rows,
            f"{target.direct}/search?q={WORST_SEARCH}",
            connections=1,
        )
    # Latency at a load the machine carries: 70 % of the peak just measured.
    routes = ((TASKS, "/api/v1/tasks", auth), (f"{HOME} {SIGNED_IN}", "/", cookie))
    for route, path, headers in routes:
        peak = next(r for r in runs if r.name == f"d. {route}, nginx + TLS" and r.rows == "1M")
        rate = 0.7 * peak.requests_per_second
        print(f"bench: {route} at {rate:,.0f} requests/s, paced", flush=True)
        result = paced(f"{target.proxied}{path}", seconds, rate, f"/static/{static}", headers)
        show(Run(f"f. {route}, nginx + TLS, {PACED}", "1M", *result))
    return Measured(runs, target.worker_memory(), machine(target))
