"""The tasks API: every route, both prefixes, and two users who cannot see each other."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support import bearer, get_token

PREFIXES = ["/api/v1", "/todo/api/v1.0"]


@pytest.fixture
def alice(client, make_user) -> dict[str, str]:
    make_user("alice")
    return bearer(get_token(client, "alice"))


@pytest.fixture
def bob(client, make_user) -> dict[str, str]:
    make_user("bob")
    return bearer(get_token(client, "bob"))


def create(client, headers, prefix="/api/v1", **body):
    response = client.post(f"{prefix}/tasks", json={"title": "Buy milk", **body}, headers=headers)
    assert response.status_code == 201, response.json
    return response


@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_read_update_delete(client, alice, prefix):
    response = create(client, alice, prefix, description="2 litres")
    task = response.json
    assert response.headers["Location"] == task["uri"]
    assert task["uri"].endswith(f"/api/v1/tasks/{task['id']}")
    assert task["done"] is False
    assert task["description"] == "2 litres"
    for stamp in ("created_at", "updated_at"):
        assert datetime.fromisoformat(task[stamp]).utcoffset().total_seconds() == 0
    path = f"{prefix}/tasks/{task['id']}"
    assert client.get(path, headers=alice).json == task

    patched = client.patch(path, json={"done": True}, headers=alice)
    assert patched.status_code == 200
    assert patched.json["done"] is True
    assert patched.json["title"] == "Buy milk"
    assert patched.json["updated_at"] >= task["updated_at"]

    replaced = client.put(path, json={"title": "Buy oat milk"}, headers=alice)
    assert replaced.status_code == 200
    assert replaced.json == {
        **replaced.json,
        "title": "Buy oat milk",
        "description": "",
        "done": False,
    }

    deleted = client.delete(path, headers=alice)
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert client.get(path, headers=alice).status_code == 404


def test_users_never_see_or_touch_each_others_tasks(client, alice, bob):
    task = create(client, alice).json
    path = f"/api/v1/tasks/{task['id']}"
    for method, body in (
        ("get", None),
        ("put", {"title": "x"}),
        ("patch", {"done": True}),
        ("delete", None),
    ):
        response = getattr(client, method)(path, json=body, headers=bob)
        assert response.status_code == 404, method
        assert response.json["error"] == "not_found"
    assert client.get("/api/v1/tasks", headers=bob).json["items"] == []
    assert client.get(path, headers=alice).json == task  # untouched


def test_list_is_paginated_with_links(client, alice):
    for n in range(5):
        create(client, alice, title=f"task {n}")
    page = client.get("/api/v1/tasks?per_page=2", headers=alice).json
    assert [t["title"] for t in page["items"]] == ["task 0", "task 1"]
    assert page["per_page"] == 2
    assert page["links"]["prev"] is None
    third = client.get(page["links"]["next"].replace("http://localhost", ""), headers=alice).json
    third = client.get(third["links"]["next"].replace("http://localhost", ""), headers=alice).json
    assert [t["title"] for t in third["items"]] == ["task 4"]
    assert third["links"]["next"] is None
    back = client.get(third["links"]["prev"].replace("http://localhost", ""), headers=alice).json
    assert [t["title"] for t in back["items"]] == ["task 2", "task 3"]
    past = client.get("/api/v1/tasks?page=9", headers=alice)
    assert past.status_code == 404
    assert "past the end" in past.json["message"]


def test_filter_by_done(client, alice):
    create(client, alice, title="open")
    create(client, alice, title="finished", done=True)
    done = client.get("/api/v1/tasks?done=true", headers=alice).json
    assert [t["title"] for t in done["items"]] == ["finished"]
    assert "done=true" in done["links"]["self"]
    assert [
        t["title"] for t in client.get("/api/v1/tasks?done=false", headers=alice).json["items"]
    ] == ["open"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("done=maybe", "done"),
    ],
)
def test_bad_query_is_422_naming_the_field(client, alice, query, field):
    response = client.get(f"/api/v1/tasks?{query}", headers=alice)
    assert response.status_code == 422
    assert field in response.json["details"]["query"]
    assert field in response.json["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": 42}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "done": "yes"}, "done"),
        ({"title": "ok", "done": 1}, "done"),
        ({"title": "ok", "owner_id": 2}, "owner_id"),
        ({"title": "ok", "id": 7}, "id"),
        ({"title": "nul\u0000byte"}, "title"),
        ({"title": "ok", "description": "\u0000"}, "description"),
    ],
)
def test_bad_body_is_422_naming_each_field(client, alice, body, field):
    response = client.post("/api/v1/tasks", json=body, headers=alice)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "unprocessable_entity"
    assert field in response.json["details"]["json"]


def test_empty_patch_changes_nothing(client, alice):
    task = create(client, alice).json
    response = client.patch(f"/api/v1/tasks/{task['id']}", json={}, headers=alice)
    assert response.status_code == 200
    assert response.json == task


def test_limits_are_inclusive(client, alice):
    task = create(client, alice, title="t" * 200, description="d" * 2000).json
    assert len(task["title"]) == 200
    assert len(task["description"]) == 2000


def test_malformed_json_is_400(client, alice):
    response = client.post(
        "/api/v1/tasks", data="{not json", content_type="application/json", headers=alice
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client, alice, content_type):
    kwargs = {"data": '{"title": "x"}'}
    if content_type:
        kwargs["content_type"] = content_type
    response = client.post("/api/v1/tasks", headers=alice, **kwargs)
    assert response.status_code == 415
    assert "application/json" in response.json["message"]


@pytest.mark.parametrize("task_id", ["999999", "abc", "0", "-1", "2147483648", "9" * 30])
def test_unknown_or_impossible_task_id_is_404(client, alice, task_id):
    response = client.get(f"/api/v1/tasks/{task_id}", headers=alice)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_a_numbered_page_too_deep_to_be_cheap_says_what_to_do(client, alice):
    response = client.get("/api/v1/tasks?page=100001", headers=alice)
    assert response.status_code == 404
    assert "follow its Older links" in response.json["message"]


def test_wrong_method_is_405_json(client, alice):
    response = client.post("/api/v1/tasks/1", json={}, headers=alice)
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_oversized_body_is_413_json(app, client, alice):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/tasks", json={"title": "x" * 5000}, headers=alice)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


@pytest.mark.parametrize("query", ["", "?done=false", "?per_page=2", "?done=true"])
def test_the_list_written_from_rows_is_what_the_schema_dumps(client, alice, query):
    # The list answers from rows with orjson (api/tasks.py: task_json), each
    # task as GET /tasks/<id> answers it through TaskPublic.
    for n in range(3):
        create(client, alice, title=f"Task {n}", description="x" * n, done=n == 1)
    listed = client.get(f"/api/v1/tasks{query}", headers=alice)
    assert listed.status_code == 200
    assert listed.json["items"], "nothing listed"
    for item in listed.json["items"]:
        assert item == client.get(f"/api/v1/tasks/{item['id']}", headers=alice).json
    following = listed.json["links"]["next"]
    if following:
        assert client.get(following, headers=alice).json["links"]["prev"]
