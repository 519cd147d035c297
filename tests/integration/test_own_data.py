"""Export and deletion of one's own data, through the pages, with the inline queue.

tests/jobs runs the same jobs through PostgreSQL's queue and a real worker.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.models import Comment, DataExport, Follow, LoginSession, Post, Task, User, utcnow
from bulletin.services import accounts
from tests.support import PASSWORD, Auth, csrf_token_in


def export_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/auth/export/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def download(client, path: str):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf_token_in(page.get_data(as_text=True))})


@pytest.fixture
def writers(app, make_user):
    """ann and bob, each with a post, a comment on the other's post and a task."""
    ann, bob = make_user("ann"), make_user("bob")
    with app.app_context():
        posts = {}
        for user in (ann, bob):
            post = Post(body=f"{user.username}'s post", body_html="<p>x</p>", author_id=user.id)
            db.session.add(post)
            db.session.flush()
            posts[user.username] = post.id
            db.session.add(Task(owner_id=user.id, title=f"{user.username}'s task"))
        db.session.add(
            Comment(body="ann on bob", body_html="x", author_id=ann.id, post_id=posts["bob"])
        )
        db.session.add(
            Comment(body="bob on ann", body_html="x", author_id=bob.id, post_id=posts["ann"])
        )
        db.session.add(Follow(follower_id=ann.id, followed_id=bob.id))
        db.session.commit()
    return ann, bob


def test_the_export_holds_exactly_the_users_own_rows(client, auth, outbox, writers):
    auth.login("ann@example.com")
    page = client.get("/auth/export")
    response = client.post(
        "/auth/export", data={"csrf_token": csrf_token_in(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    (mail,) = [m for m in outbox if "export" in m.subject.lower()]
    assert mail.recipients == ["ann@example.com"]
    answer = download(client, export_link(mail))
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    assert sorted(archive.namelist()) == [
        "comments.json",
        "posts.json",
        "profile.json",
        "tasks.json",
    ]
    content = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    assert content["profile.json"]["username"] == "ann"
    assert content["profile.json"]["email"] == "ann@example.com"
    assert content["profile.json"]["following"] == ["bob"]
    assert [p["body"] for p in content["posts.json"]] == ["ann's post"]
    assert [c["body"] for c in content["comments.json"]] == ["ann on bob"]
    assert [t["title"] for t in content["tasks.json"]] == ["ann's task"]


def test_the_export_link_works_once_for_its_requester_until_it_expires(
    app, client, auth, outbox, writers
):
    ann, _ = writers
    auth.login("ann@example.com")
    with app.test_request_context():
        accounts.request_export(
            db.session.get(User, ann.id), requested_by=db.session.get(User, ann.id)
        )
        accounts.request_export(
            db.session.get(User, ann.id), requested_by=db.session.get(User, ann.id)
        )
    first, second = (export_link(m) for m in outbox)
    assert download(client, first).status_code == 200
    again = download(client, first)
    assert again.status_code == 404
    assert "used" in again.get_data(as_text=True)

    client.post(
        "/auth/logout", data={"csrf_token": csrf_token_in(client.get("/").get_data(as_text=True))}
    )
    auth.login("bob@example.com")
    assert download(client, second).status_code == 404  # not bob's to take

    with app.app_context():
        db.session.execute(db.update(DataExport).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    client.post(
        "/auth/logout", data={"csrf_token": csrf_token_in(client.get("/").get_data(as_text=True))}
    )
    auth.login("ann@example.com")
    assert download(client, second).status_code == 404  # expired
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(DataExport).where(DataExport.content.is_not(None))
            )
            == 1
        )


def test_deleting_the_account_ends_its_sessions_and_tokens_and_removes_its_data(
    app, client, auth, writers
):
    ann, bob = writers
    auth.login("ann@example.com")
    token = client.post("/api/v1/tokens", auth=("ann@example.com", PASSWORD)).get_json()["token"]
    other = app.test_client()
    Auth(other).login("ann@example.com")
    assert other.get("/auth/delete-account").status_code == 200

    page = client.get("/auth/delete-account")
    wrong = client.post(
        "/auth/delete-account",
        data={
            "csrf_token": csrf_token_in(page.get_data(as_text=True)),
            "password": "wrong password",
            "understood": "y",
        },
    )
    assert wrong.status_code == 303  # back to the form, which says why
    with app.app_context():
        assert db.session.get(User, ann.id) is not None

    page = client.get("/auth/delete-account")
    deleted = client.post(
        "/auth/delete-account",
        data={
            "csrf_token": csrf_token_in(page.get_data(as_text=True)),
            "password": PASSWORD,
            "understood": "y",
        },
    )
    assert deleted.status_code == 302
    # The other browser, and the API token, stop at once.
    assert other.get("/auth/delete-account").status_code == 302
    assert (
        client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    with app.app_context():
        assert db.session.get(User, ann.id) is None
        assert db.session.scalars(select(Post.body)).all() == ["bob's post"]
        # ann's comment, and bob's comment on ann's post, went; bob's own rows stayed.
        assert db.session.scalars(select(Comment.body)).all() == []
        assert db.session.scalars(select(Task.title)).all() == ["bob's task"]
        assert db.session.scalar(select(func.count()).select_from(Follow)) == 0
        assert (
            db.session.scalar(
                select(func.count()).select_from(LoginSession).where(LoginSession.user_id == ann.id)
            )
            == 0
        )
        assert db.session.get(User, bob.id) is not None


def test_a_deleted_users_email_and_name_can_register_again(app, client, auth, outbox, writers):
    auth.login("ann@example.com")
    page = client.get("/auth/delete-account")
    client.post(
        "/auth/delete-account",
        data={
            "csrf_token": csrf_token_in(page.get_data(as_text=True)),
            "password": PASSWORD,
            "understood": "y",
        },
    )
    auth.register("ann@example.com", "ann")
    with app.app_context():
        assert (
            db.session.scalar(select(User.username).where(User.email == "ann@example.com")) == "ann"
        )


def test_an_administrator_exports_and_deletes_any_account(
    app, client, auth, outbox, writers, make_user
):
    ann, _ = writers
    make_user("root", role="Administrator")
    auth.login("root@example.com")
    edit = f"/edit-profile/{ann.public_id}"
    token = csrf_token_in(client.get(edit).get_data(as_text=True))
    assert client.post(f"{edit}/export", data={"csrf_token": token}).status_code == 302
    (mail,) = [m for m in outbox if "export" in m.subject.lower()]
    assert mail.recipients == ["root@example.com"]  # to the administrator who asked
    archive = zipfile.ZipFile(io.BytesIO(download(client, export_link(mail)).data))
    assert json.loads(archive.read("profile.json"))["username"] == "ann"

    refused = client.post(f"{edit}/delete", data={"csrf_token": token, "password": "not it"})
    assert refused.status_code == 303  # back to the form, which says why
    with app.app_context():
        assert db.session.get(User, ann.id) is not None
    done = client.post(f"{edit}/delete", data={"csrf_token": token, "password": PASSWORD})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(User, ann.id) is None
