"""Posts and comments nested past the renderer's limit are refused with what to
fix on every path; stored bodies are rendered again by ``flask rerender``."""

from __future__ import annotations

from sqlalchemy import select, update

from bulletin.core.markup import MAX_NESTING
from bulletin.extensions import db
from bulletin.models import Comment, Post
from bulletin.models.blog import COMMENT_MAX, POST_MAX
from bulletin.services import blog
from tests.support import bearer, count, get_token, get_user

# Fills a post with 10,000 nested quotes: 226 ms in the sanitizer alone.
DEEP = ">" * POST_MAX


def test_the_api_refuses_a_deeply_nested_post_with_422(app, client, make_user):
    make_user("alice")
    headers = bearer(get_token(client, "alice"))
    response = client.post("/api/v1/posts", json={"body": DEEP}, headers=headers)
    assert response.status_code == 422
    assert f"at most {MAX_NESTING} levels deep" in response.json["message"]
    assert count(app, Post) == 0


def test_the_api_refuses_a_deeply_nested_edit_and_keeps_the_post(app, client, make_user):
    make_user("alice")
    headers = bearer(get_token(client, "alice"))
    post = client.post("/api/v1/posts", json={"body": "first"}, headers=headers).json
    response = client.put(f"/api/v1/posts/{post['id']}", json={"body": DEEP}, headers=headers)
    assert response.status_code == 422
    with app.app_context():
        stored = db.session.get(Post, post["id"])
        assert (stored.body, stored.body_html) == ("first", "<p>first</p>\n")


def test_the_form_flashes_what_to_fix_for_a_deep_comment(app, client, auth, make_user):
    make_user("alice")
    with app.app_context():
        alice = db.session.merge(get_user(app, "alice"))
        post_id = blog.create_post(author=alice, body="hi").id
    auth.login("alice@example.com")
    response = auth.post_form(
        f"/post/{post_id}", {"body": ">" * COMMENT_MAX}, follow_redirects=True
    )
    assert f"at most {MAX_NESTING} levels deep" in response.get_data(as_text=True)
    assert count(app, Comment) == 0


def test_rerender_writes_only_the_rows_whose_html_changed(app, runner, make_user):
    make_user("alice")
    with app.app_context():
        author = db.session.merge(get_user(app, "alice"))
        current = blog.create_post(author=author, body="*fresh*")
        stale = blog.create_post(author=author, body="*stale*")
        deep = blog.create_post(author=author, body="quoted")
        db.session.execute(update(Post).where(Post.id == stale.id).values(body_html="old"))
        # A body stored before the nesting rule: shown as text from now on.
        db.session.execute(update(Post).where(Post.id == deep.id).values(body=DEEP))
        db.session.commit()
        ids = current.id, stale.id, deep.id
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert "posts: 2 of 3 rendered anew." in result.output
    assert "comments: 0 of 0 rendered anew." in result.output
    with app.app_context():
        html = dict(db.session.execute(select(Post.id, Post.body_html)).all())
    assert html[ids[0]] == html[ids[1]].replace("stale", "fresh") == "<p><em>fresh</em></p>\n"
    assert html[ids[2]] == f"<p>{'&gt;' * POST_MAX}</p>"
    again = runner.invoke(args=["rerender"])
    assert "posts: 0 of 3 rendered anew." in again.output
