"""Malformed input from any client ends in a 4xx with the one error shape,
never a 500: forged page cursors on every public feed, and JSON bodies that
the parser could read but Python or the database could not hold."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import bearer, get_token


def cursor(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


FORGED = [
    {"after": ["9999-12-31T23:59:59-01:00", 1]},  # past the end of time in UTC
    {"before": ["0001-01-01T00:00:00+01:00", 1]},  # before its start
    {"after": ["2026-01-01T00:00:00+00:00", 2**70]},  # an id past 64 bits
    {"after": ["2026-01-01T00:00:00+00:00", 2**40]},  # past PostgreSQL's INTEGER
    {"after": ["2026-01-01T00:00:00", 1]},  # no time zone
    {"after": [1, "x"]},
    {"offset": 10**30},
    {"offset": -1},
    {"offset": True},
    {"sideways": [1]},
    [1, 2],
]
PUBLIC_FEEDS = ["/", "/user/alice", "/followers/alice", "/following/alice"]


@pytest.fixture
def alice(make_user, client):
    make_user("alice")
    return bearer(get_token(client, "alice"))


@pytest.mark.parametrize("position", FORGED)
@pytest.mark.parametrize("feed", PUBLIC_FEEDS)
def test_a_forged_cursor_on_a_public_feed_is_a_404(client, alice, feed, position):
    response = client.get(f"{feed}?cursor={cursor(position)}")
    assert response.status_code == 404


@pytest.mark.parametrize("position", FORGED)
def test_a_forged_cursor_on_the_api_is_a_404_with_the_error_shape(client, alice, position):
    response = client.get(f"/api/v1/posts?cursor={cursor(position)}", headers=alice)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert response.json["message"]


BAD_BODIES = [
    (b'{"body": "\\ud800"}', "no low surrogate"),  # the database cannot store it
    (b'{"body": ' + b"[" * 5000 + b"]" * 5000 + b"}", "depth limit"),
    (b'{"body": ' + b"1" * 5000 + b"}", "number"),  # Python refuses 4,300+ digits
    (b'{"body": 1e400}', "number"),
    (b"\xff\xfe", "UTF-8"),
    (b'{"body": "x"', "not valid JSON"),
]


@pytest.mark.parametrize(("body", "says"), BAD_BODIES)
@pytest.mark.parametrize("path", ["/api/v1/posts", "/api/v1/tasks"])
def test_a_body_python_or_the_database_cannot_hold_is_a_400(client, alice, path, body, says):
    headers = {**alice, "Content-Type": "application/json"}
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "bad_request"
    assert says in response.json["message"]


# Any JSON value a cursor can decode to, with the extremes of time and size.
POSITIONS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+23:59"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["after", "before", "offset", "x"]), children, max_size=2)
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=POSITIONS)
def test_cursor_fuzzing_never_reaches_a_500(client, alice, position):
    token = cursor(position)
    for path in ("/", "/user/alice", "/api/v1/posts", "/api/v1/tasks"):
        response = client.get(f"{path}?cursor={token}", headers=alice)
        assert response.status_code < 500, (path, position)
