"""Bulletin under traffic shaped like real use: many readers, some writers, API clients.

Run it through `make load` (see the README), or directly:

    locust -f loadtests/locustfile.py --host https://localhost --headless -u 50 -r 10 -t 1m

The data comes from `flask seed`: users user1..userN@example.com, all with the
password `bulletin-seed`; LOAD_USERS says how many there are (50 by default)
and LOAD_FIRST_USER the first N (1, unless accounts existed before the seed:
the seed command prints the range).
The local CA (certs/local/ca.crt, or LOAD_CA_BUNDLE) verifies https.

Exit status: 1 when any request failed or when the 95th percentile of all
requests exceeds --p95-ms, so a release pipeline can stop on it.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, events, task

SEED_PASSWORD = "bulletin-seed"
LOCAL_CA = Path(__file__).resolve().parents[1] / "certs/local/ca.crt"
POST_LINK = re.compile(r'href="/post/(\d+)"')
USER_LINK = re.compile(r'href="/user/([\w.-]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@events.init_command_line_parser.add_listener
def add_arguments(parser) -> None:
    parser.add_argument(
        "--p95-ms",
        type=float,
        default=0,
        env_var="LOAD_P95_MS",
        help="fail the run when the 95th percentile exceeds this (0: no limit)",
    )


@events.quitting.add_listener
def judge(environment, **_kwargs) -> None:
    """Turn the run's figures into an exit status."""
    total = environment.stats.total
    limit = environment.parsed_options.p95_ms if environment.parsed_options else 0
    p95 = total.get_response_time_percentile(0.95) or 0
    problems = []
    if total.num_failures:
        problems.append(f"{total.num_failures} of {total.num_requests} requests failed")
    if limit and p95 > limit:
        problems.append(f"p95 {p95:.0f} ms is over the {limit:.0f} ms limit")
    if total.num_requests == 0:
        problems.append("no request was made")
    for problem in problems:
        print(f"load: FAIL: {problem}")
    if problems:
        environment.process_exit_code = 1
    else:
        print(f"load: OK: {total.num_requests} requests, none failed, p95 {p95:.0f} ms")


def seeded_email() -> str:
    first = int(os.environ.get("LOAD_FIRST_USER", "1"))
    number = random.randint(first, first + int(os.environ.get("LOAD_USERS", "50")) - 1)
    return f"user{number}@example.com"


class BulletinUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def on_start(self) -> None:
        # The local CA, not the environment's bundle (requests would prefer it).
        self.client.trust_env = False
        bundle = os.environ.get("LOAD_CA_BUNDLE") or (str(LOCAL_CA) if LOCAL_CA.exists() else "")
        self.client.verify = bundle or True

    def form_token(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as response:
            match = CSRF.search(response.text or "")
            if not match:
                response.failure(f"no CSRF token on {path}")
                return None
            return match.group(1)

    def submit(self, path: str, data: dict, name: str) -> None:
        """Post a form as a browser does: its CSRF token, and the Referer https needs."""
        token = self.form_token(path, name.split(" (")[0])
        if token is None:
            return
        with self.client.post(
            path,
            data={"csrf_token": token, **data},
            name=name,
            headers={"Referer": self.host + path},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"{name}: expected a redirect, got {response.status_code}")


class Reader(BulletinUser):
    """Reads the feed, opens posts and profiles: most of the traffic."""

    weight = 7
    posts: list[str] = []
    authors: list[str] = []

    @task(4)
    def home(self) -> None:
        page = random.choice((1, 1, 1, 2, 3))
        response = self.client.get(f"/?page={page}", name="/?page=[n]")
        self.posts = POST_LINK.findall(response.text) or self.posts
        self.authors = USER_LINK.findall(response.text) or self.authors

    @task(3)
    def post(self) -> None:
        if self.posts:
            self.client.get(f"/post/{random.choice(self.posts)}", name="/post/[id]")

    @task(2)
    def profile(self) -> None:
        if self.authors:
            self.client.get(f"/user/{random.choice(self.authors)}", name="/user/[name]")


class Writer(BulletinUser):
    """Signs in through the form, then writes posts and comments."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.submit(
            "/auth/login", {"email": seeded_email(), "password": SEED_PASSWORD}, "/auth/login"
        )

    @task(2)
    def write_post(self) -> None:
        self.submit(
            "/",
            {"body": f"Load test post {random.randint(1, 10**9)} *with* Markdown"},
            "/ (new post)",
        )

    @task(3)
    def comment(self) -> None:
        posts = POST_LINK.findall(self.client.get("/", name="/?page=[n]").text)
        if posts:
            path = f"/post/{random.choice(posts)}"
            self.submit(path, {"body": "Well said."}, "/post/[id] (comment)")


class ApiClient(BulletinUser):
    """Takes one token, then creates, lists, updates and deletes its tasks."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        response = self.client.post("/api/v1/tokens", auth=(seeded_email(), SEED_PASSWORD))
        self.headers = {"Authorization": f"Bearer {response.json().get('token', '')}"}
        self.mine: list[int] = []

    @task(3)
    def list_tasks(self) -> None:
        self.client.get("/api/v1/tasks?per_page=20", headers=self.headers, name="/api/v1/tasks")

    @task(2)
    def create_task(self) -> None:
        response = self.client.post(
            "/api/v1/tasks",
            headers=self.headers,
            json={"title": "Load test task", "description": "from locust"},
        )
        if response.status_code == 201:
            self.mine.append(response.json()["id"])

    @task(1)
    def update_task(self) -> None:
        if self.mine:
            self.client.patch(
                f"/api/v1/tasks/{random.choice(self.mine)}",
                headers=self.headers,
                json={"done": True},
                name="/api/v1/tasks/[id]",
            )

    @task(1)
    def delete_task(self) -> None:
        if self.mine:
            task_id = self.mine.pop(random.randrange(len(self.mine)))
            self.client.delete(
                f"/api/v1/tasks/{task_id}", headers=self.headers, name="/api/v1/tasks/[id]"
            )
