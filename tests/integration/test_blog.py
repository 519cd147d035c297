"""The blog pages: feeds, posts, comments, profiles, follows and moderation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, select

from bulletin.extensions import db
from bulletin.models import Comment, Follow, Post, User
from bulletin.services import blog
from tests.support import Auth, count, csrf_token, get_user


def location(response) -> str:
    return urlsplit(response.headers["Location"]).path


@pytest.fixture
def writer(make_user, auth):
    user = make_user("writer")
    auth.login("writer@example.com")
    return user


def add_post(app, username: str, body: str) -> int:
    with app.app_context():
        return blog.create_post(author=get_user_in_context(username), body=body).id


def get_user_in_context(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_home_page_shows_the_write_form_to_writers_only(client, auth, make_user):
    assert b"What&#39;s on your mind?" not in client.get("/").data
    make_user("ana")
    auth.login("ana@example.com")
    assert b"What&#39;s on your mind?" in client.get("/").data


def test_writer_publishes_a_post_with_markdown(app, client, auth, writer):
    response = auth.post_form("/", {"body": "Hello **world** <script>alert(1)</script>"})
    assert location(response) == "/"
    page = client.get("/").get_data(as_text=True)
    assert "<strong>world</strong>" in page
    assert "<script>alert(1)" not in page
    assert "Your post is published." in page


def test_anonymous_post_to_home_is_forbidden(app, client):
    token = csrf_token(client, "/auth/login")
    response = client.post("/", data={"csrf_token": token, "body": "spam"})
    assert response.status_code == 403
    assert count(app, Post) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", b"This field is required."),
        ("x" * 10_001, b"Field cannot be longer than 10000 characters."),
        ("nul\x00byte", b"Remove the NUL character"),
    ],
)
def test_bad_post_is_a_form_error(app, auth, writer, body, message):
    response = auth.post_form("/", {"body": body})
    assert response.status_code == 200
    assert message in response.data
    assert count(app, Post) == 0


def test_old_numbered_links_still_work_while_shallow(app, client, make_user):
    make_user("prolific")
    for n in range(25):
        add_post(app, "prolific", f"post number {n}")
    first = client.get("/").get_data(as_text=True)
    assert "post number 24" in first
    assert "post number 4" not in first
    assert "?page=" not in first
    assert "?cursor=" in first
    second = client.get("/?page=2").get_data(as_text=True)
    assert "post number 4" in second
    assert "post number 24" not in second
    assert client.get("/?page=3").status_code == 404
    for first_page in ("/?page=0", "/?page=-1", "/?page=abc"):  # not a page: the first
        assert "post number 24" in client.get(first_page).get_data(as_text=True)
    deep = client.get("/?page=100001")
    assert deep.status_code == 404
    assert "follow its Older links" in deep.get_data(as_text=True)
    assert client.get("/post/99999999999999999999").status_code == 404


def test_feed_loads_authors_without_a_query_per_post(app, client, make_user):
    for name in ("a1", "a2", "a3", "a4"):
        make_user(name)
        for n in range(5):
            add_post(app, name, f"{name} says {n}")
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get("/")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    post_queries = [s for s in statements if "FROM posts" in s]
    assert len(post_queries) == 1, post_queries
    assert len(statements) <= 2


def test_followed_feed_toggle_is_kept_in_a_cookie(app, client, auth, make_user):
    make_user("followed")
    make_user("stranger")
    add_post(app, "followed", "from someone I follow")
    add_post(app, "stranger", "from a stranger")
    make_user("reader")
    auth.login("reader@example.com")
    auth.post_form("/follow/followed", {}, form_page="/user/followed")
    response = client.get("/followed")
    assert "show_followed=1" in response.headers["Set-Cookie"]
    page = client.get("/").get_data(as_text=True)
    assert "from someone I follow" in page
    assert "from a stranger" not in page
    client.get("/all")
    page = client.get("/").get_data(as_text=True)
    assert "from someone I follow" in page
    assert "from a stranger" in page


def test_post_page_shows_comments_and_takes_new_ones(app, client, auth, writer):
    post_id = add_post(app, "writer", "a post to discuss")
    response = auth.post_form(f"/post/{post_id}", {"body": "Nice [link](javascript:alert(1))"})
    assert response.headers["Location"].endswith(f"/post/{post_id}#comments")
    page = client.get(f"/post/{post_id}").get_data(as_text=True)
    assert "Nice" in page
    assert "javascript:" not in page


def test_anonymous_cannot_comment(app, client, make_user):
    make_user("poster")
    post_id = add_post(app, "poster", "no comments from strangers")
    token = csrf_token(client, "/auth/login")
    response = client.post(f"/post/{post_id}", data={"csrf_token": token, "body": "hi"})
    assert response.status_code == 403
    assert count(app, Comment) == 0


def test_too_long_comment_is_a_form_error(app, auth, writer):
    post_id = add_post(app, "writer", "post")
    response = auth.post_form(f"/post/{post_id}", {"body": "c" * 2001})
    assert b"Field cannot be longer than 2000 characters." in response.data
    assert count(app, Comment) == 0


def test_missing_post_is_404(client):
    assert client.get("/post/999999").status_code == 404


def test_author_edits_own_post_but_not_others(app, client, auth, writer, make_user):
    mine = add_post(app, "writer", "my first draft")
    make_user("other")
    theirs = add_post(app, "other", "not yours")
    response = auth.post_form(f"/edit/{mine}", {"body": "my final version"})
    assert location(response) == f"/post/{mine}"
    assert "my final version" in client.get(f"/post/{mine}").get_data(as_text=True)
    assert client.get(f"/edit/{theirs}").status_code == 403
    response = client.post(
        f"/edit/{theirs}", data={"csrf_token": csrf_token(client, "/"), "body": "hijacked"}
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Post, theirs).body == "not yours"


def test_admin_edits_any_post(app, client, auth, make_user):
    make_user("author")
    post_id = add_post(app, "author", "typo here")
    make_user("boss", role="Administrator")
    auth.login("boss@example.com")
    auth.post_form(f"/edit/{post_id}", {"body": "typo fixed"})
    with app.app_context():
        assert db.session.get(Post, post_id).body == "typo fixed"


def test_profile_shows_posts_and_follow_counts(app, client, auth, make_user):
    make_user("celebrity")
    make_user("fan1")
    make_user("fan2")
    add_post(app, "celebrity", "hello fans")
    for fan in ("fan1", "fan2"):
        fan_client = app.test_client()
        Auth(fan_client).login(f"{fan}@example.com")
        Auth(fan_client).post_form("/follow/celebrity", {}, form_page="/user/celebrity")
    page = client.get("/user/celebrity").get_data(as_text=True)
    assert "hello fans" in page
    assert 'followers-count">2<' in page
    assert 'following-count">0<' in page
    followers = client.get("/followers/celebrity").get_data(as_text=True)
    assert "fan1" in followers
    assert "fan2" in followers
    assert "celebrity" in client.get("/following/fan1").get_data(as_text=True)
    assert client.get("/user/nobody").status_code == 404


def test_follow_and_unfollow_are_post_forms(app, client, auth, make_user):
    make_user("star")
    make_user("me")
    auth.login("me@example.com")
    assert client.get("/follow/star").status_code == 405
    assert client.post("/follow/star").status_code == 400  # no CSRF token
    auth.post_form("/follow/star", {}, form_page="/user/star")
    auth.post_form("/follow/star", {}, form_page="/user/star")  # twice is harmless
    assert count(app, Follow) == 1
    assert b"Unfollow" in client.get("/user/star").data
    response = auth.post_form("/unfollow/star", {}, form_page="/user/star")
    assert location(response) == "/user/star"
    assert count(app, Follow) == 0


def test_following_yourself_is_refused(app, client, auth, make_user):
    make_user("narcissus")
    auth.login("narcissus@example.com")
    response = auth.post_form(
        "/follow/narcissus", {}, form_page="/user/narcissus", follow_redirects=True
    )
    assert b"You cannot follow yourself." in response.data
    assert count(app, Follow) == 0


def test_anonymous_follow_goes_to_login(client, make_user):
    make_user("star")
    token = csrf_token(client, "/auth/login")
    assert location(client.post("/follow/star", data={"csrf_token": token})) == "/auth/login"


def test_edit_own_profile(app, client, auth, make_user):
    make_user("editor")
    auth.login("editor@example.com")
    response = auth.post_form(
        "/edit-profile", {"name": "Edie", "location": "Lisbon", "about_me": "I edit things."}
    )
    assert location(response) == "/user/editor"
    user = get_user(app, "editor")
    assert (user.name, user.location, user.about_me) == ("Edie", "Lisbon", "I edit things.")
    response = auth.post_form("/edit-profile", {"name": "n" * 65})
    assert b"Field cannot be longer than 64 characters." in response.data


def test_admin_edits_any_profile(app, client, auth, make_user, roles):
    target = make_user("target", confirmed=False)
    make_user("root", role="Administrator")
    auth.login("root@example.com")
    path = f"/edit-profile/{target.public_id}"
    assert b"Edit target" in client.get(path).data
    response = auth.post_form(
        path,
        {
            "email": "Target@New.example",
            "username": "target2",
            "confirmed": "y",
            "role": str(roles["Moderator"].id),
            "name": "T",
            "location": "",
            "about_me": "",
        },
    )
    assert location(response) == "/user/target2"
    user = get_user(app, "target2")
    assert user.email == "target@new.example"
    assert user.confirmed
    assert user.role.name == "Moderator"


def test_admin_edit_refuses_a_taken_username_and_unknown_role(app, auth, make_user, roles):
    target = make_user("target")
    make_user("taken")
    make_user("root", role="Administrator")
    auth.login("root@example.com")
    path = f"/edit-profile/{target.public_id}"
    data = {"email": "target@example.com", "username": "TAKEN", "role": str(roles["User"].id)}
    assert b"already taken" in auth.post_form(path, data, follow_redirects=True).data
    data = {**data, "username": "target", "role": "999"}
    assert b"Not a valid choice" in auth.post_form(path, data).data


def test_non_admin_cannot_edit_other_profiles(client, auth, make_user):
    target = make_user("target")
    make_user("user")
    auth.login("user@example.com")
    assert client.get(f"/edit-profile/{target.public_id}").status_code == 403
    assert client.get("/edit-profile/not-a-uuid").status_code == 404


def test_moderation_hides_and_shows_comments(app, client, auth, make_user):
    make_user("poster")
    post_id = add_post(app, "poster", "discussion")
    with app.app_context():
        comment = blog.add_comment(
            post=db.session.get(Post, post_id),
            author=get_user_in_context("poster"),
            body="rude words",
        )
        comment_id = comment.id
    make_user("mod", role="Moderator")
    auth.login("mod@example.com")
    assert b"rude words" in client.get("/moderate").data
    response = auth.post_form(
        f"/moderate/disable/{comment_id}", {"next": "//evil.example"}, form_page="/moderate"
    )
    assert location(response) == "/moderate"
    anonymous = app.test_client().get(f"/post/{post_id}").get_data(as_text=True)
    assert "rude words" not in anonymous
    assert "No comments yet." in anonymous
    as_moderator = client.get(f"/post/{post_id}").get_data(as_text=True)
    assert "rude words" in as_moderator
    assert "hidden by a moderator" in as_moderator
    response = auth.post_form(
        f"/moderate/enable/{comment_id}", {"next": f"/post/{post_id}"}, form_page="/moderate"
    )
    assert location(response) == f"/post/{post_id}"
    assert b"rude words" in app.test_client().get(f"/post/{post_id}").data


def test_moderation_needs_the_moderate_permission(app, client, auth, make_user):
    make_user("plain")
    auth.login("plain@example.com")
    assert client.get("/moderate").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/moderate/disable/1", data={"csrf_token": token}).status_code == 403
