"""The posts, comments and users API."""

from __future__ import annotations

import uuid

import pytest

from bulletin.extensions import db
from bulletin.models import Role
from bulletin.services import blog
from tests.support import bearer, get_token, get_user


@pytest.fixture
def people(app, client, make_user):
    """Alice (user), Bob (user) who follows Alice, and Root (administrator), with tokens."""
    for name, role in (("alice", "User"), ("bob", "User"), ("root", "Administrator")):
        make_user(name, role=role)
    with app.app_context():
        blog.follow(
            db.session.merge(get_user(app, "bob")), db.session.merge(get_user(app, "alice"))
        )
    return {name: bearer(get_token(client, name)) for name in ("alice", "bob", "root")}


def write_post(client, headers, body="Hello *API*"):
    response = client.post("/api/v1/posts", json={"body": body}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_create_and_read_posts(client, people):
    post = write_post(client, people["alice"], "Hello *API* <script>x</script>")
    assert "<script" not in post["body_html"]
    assert "<em>API</em>" in post["body_html"]
    assert post["author"]["username"] == "alice"
    assert uuid.UUID(post["author"]["id"])
    assert client.get(f"/api/v1/posts/{post['id']}", headers=people["bob"]).json == post
    listing = client.get("/api/v1/posts", headers=people["bob"]).json
    assert [p["id"] for p in listing["items"]] == [post["id"]]


def test_internal_user_ids_never_appear(app, client, people):
    post = write_post(client, people["alice"])
    alice = get_user(app, "alice")
    assert post["author"]["id"] == str(alice.public_id)
    user = client.get(
        post["author"]["uri"].replace("http://localhost", ""), headers=people["bob"]
    ).json
    assert user["id"] == str(alice.public_id)
    assert "email" not in user
    assert "password_hash" not in user


def test_only_author_or_admin_may_edit(client, people):
    post = write_post(client, people["alice"])
    path = f"/api/v1/posts/{post['id']}"
    response = client.put(path, json={"body": "hijack"}, headers=people["bob"])
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert (
        client.put(path, json={"body": "edited"}, headers=people["alice"]).json["body"] == "edited"
    )
    assert client.put(path, json={"body": "by admin"}, headers=people["root"]).status_code == 200


def test_comments(client, people):
    post = write_post(client, people["alice"])
    path = f"/api/v1/posts/{post['id']}/comments"
    created = client.post(
        path, json={"body": "Nice [x](javascript:alert(1))"}, headers=people["bob"]
    )
    assert created.status_code == 201
    assert "javascript:" not in created.json["body_html"]
    listing = client.get(path, headers=people["alice"]).json
    assert [c["id"] for c in listing["items"]] == [created.json["id"]]
    assert client.get("/api/v1/posts/999/comments", headers=people["bob"]).status_code == 404
    response = client.post(path, json={"body": ""}, headers=people["bob"])
    assert response.status_code == 422
    assert "body" in response.json["details"]["json"]


def test_missing_write_permission_is_403(app, client, people):
    with app.app_context():
        user = db.session.merge(get_user(app, "bob"))
        user.role = db.session.scalar(db.select(Role).where(Role.name == "User"))
        user.role.permissions = 1  # FOLLOW only, for this test's database
        db.session.commit()
    try:
        response = client.post("/api/v1/posts", json={"body": "x"}, headers=people["bob"])
        assert response.status_code == 403
        assert "WRITE" in response.json["message"]
    finally:
        with app.app_context():
            role = db.session.scalar(db.select(Role).where(Role.name == "User"))
            role.permissions = 7
            db.session.commit()


def test_user_posts_and_timeline(app, client, people):
    alice_post = write_post(client, people["alice"], "from alice")
    bob_post = write_post(client, people["bob"], "from bob")
    root_post = write_post(client, people["root"], "from root")
    bob = get_user(app, "bob")
    posts = client.get(f"/api/v1/users/{bob.public_id}/posts", headers=people["alice"]).json
    assert [p["id"] for p in posts["items"]] == [bob_post["id"]]
    timeline = client.get(f"/api/v1/users/{bob.public_id}/timeline", headers=people["alice"]).json
    ids = [p["id"] for p in timeline["items"]]
    assert alice_post["id"] in ids
    assert bob_post["id"] in ids
    assert root_post["id"] not in ids


@pytest.mark.parametrize(
    "path", ["/api/v1/users/{}", "/api/v1/users/{}/posts", "/api/v1/users/{}/timeline"]
)
def test_unknown_user_is_404(client, people, path):
    response = client.get(path.format(uuid.uuid4()), headers=people["bob"])
    assert response.status_code == 404
    assert client.get(path.format("12"), headers=people["bob"]).status_code == 404


def test_openapi_document_and_docs_are_served_locally(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/tasks/{task_id}" in spec["paths"]
    assert "/todo/api/v1.0/tasks" not in spec["paths"]
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "http" not in docs.replace("http-equiv", "")  # no CDN anywhere
    assert "<script>" not in docs  # no inline script
    assets = [
        f"/api/v1/docs/assets/{name}"
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js")
    ]
    for path in [*assets, "/static/swagger-init.js"]:
        with client.get(path) as response:  # file responses stream until closed
            assert response.status_code == 200, path
