"""Sign-in limits through the real nginx, on a stack of its own with production's
limits: the app's count is shared by every gunicorn worker (redis), and nginx
refuses a flood by itself. Each test comes from its own loopback address, so
the per-address counts of other tests never mix in."""

from __future__ import annotations

import os
from base64 import b64encode
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness.loopback import FromAddress, LoopbackStack, missing_parts, own_database


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory) -> Iterator[LoopbackStack]:
    if reason := missing_parts():
        pytest.skip(reason)
    with own_database(os.environ["TEST_DATABASE_URL"], "_limits") as url:
        stack = LoopbackStack(
            tmp_path_factory.mktemp("limits"),
            url,
            # Production's sign-in limit, and three workers as in the trial that
            # counted 26 answers of 401 out of 30 with per-worker counts.
            # The app's search limit out of the way: nginx's is the one tested here.
            {
                "AUTH_RATE_LIMIT": "10/minute",
                "GUNICORN_WORKERS": "3",
                "SEARCH_RATE_LIMIT": "1000/minute",
            },
        )
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


def session_from(stack: LoopbackStack, address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(stack.certs / "ca.crt")
    session.mount("https://", FromAddress(address))
    return session


def wrong_token_requests(stack: LoopbackStack, address: str, count: int) -> Counter[int]:
    """``count`` wrong POST /api/v1/tokens, ten at a time, so that nginx opens
    several upstream connections and the requests reach every worker."""
    url = f"https://127.0.0.1:{stack.https_port}/api/v1/tokens"
    wrong = {"Authorization": "Basic " + b64encode(b"nobody@example.com:wrong").decode()}

    def attempt(_: int) -> int:
        return session_from(stack, address).post(url, headers=wrong).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        return Counter(pool.map(attempt, range(count)))


def test_wrong_tokens_are_limited_across_every_worker(limited_stack):
    statuses = wrong_token_requests(limited_stack, "127.0.0.21", 30)
    assert statuses == {401: 10, 429: 20}, statuses


def test_nginx_refuses_a_flood_of_sign_in_pages_by_itself(limited_stack):
    # GET /auth/login is not limited by the app: only nginx can answer 429 here.
    session = session_from(limited_stack, "127.0.0.22")
    url = f"https://127.0.0.1:{limited_stack.https_port}/auth/login"
    responses = [session.get(url) for _ in range(40)]
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] <= limited_stack.sign_in_burst + 2, statuses
    assert statuses[429] >= 15, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert "Strict-Transport-Security" in refused.headers  # nginx's page, with the headers
    # Pages outside /auth/ are not limited.
    assert session.get(f"https://127.0.0.1:{limited_stack.https_port}/").status_code == 200


@pytest.mark.parametrize("path", ["/search?q=garden+-garden", "/api/v1/posts?q=garden"])
def test_nginx_refuses_a_flood_of_searches_by_itself(limited_stack, path):
    address = "127.0.0.23" if path.startswith("/search") else "127.0.0.24"
    session = session_from(limited_stack, address)
    base = f"https://127.0.0.1:{limited_stack.https_port}"
    responses = [session.get(base + path) for _ in range(40)]
    statuses = Counter(r.status_code for r in responses)
    # The API answers 401 without a token: what counts is who refused first.
    passed = statuses[200] + statuses[401]
    assert passed <= limited_stack.search_burst + 2, statuses
    assert statuses[429] >= 15, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert "Strict-Transport-Security" in refused.headers  # nginx's page, with the headers
    # Without ?q= nothing is counted: the feeds and the empty search form.
    assert session.get(f"{base}/search").status_code == 200
    assert session.get(f"{base}/api/v1/posts").status_code == 401
