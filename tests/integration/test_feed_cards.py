"""A feed's cards are rendered once and kept (web/cards.py): what a kept card
shows must stay what a fresh render would show."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bulletin.core.kept import Kept
from bulletin.extensions import db
from bulletin.models import Post, User
from bulletin.services import blog
from bulletin.web import cards


@pytest.fixture(autouse=True)
def no_cards_kept(monkeypatch):
    """Each test starts with no card kept (they are per process)."""
    monkeypatch.setattr(cards, "kept", Kept(cards.CARDS_KEPT))


def publish(app, username: str, body: str) -> int:
    with app.app_context():
        author = db.session.scalar(select(User).where(User.username == username))
        return blog.create_post(author=author, body=body).id


def test_a_kept_card_is_what_a_fresh_render_gives(app, client, make_user):
    make_user("ana")
    for n in range(3):
        publish(app, "ana", f"post number {n}")
    fresh = client.get("/").get_data(as_text=True)
    assert len(cards.kept) == 3
    assert client.get("/").get_data(as_text=True) == fresh
    assert fresh.count('class="card mb-3 post"') == 3
    assert "post number 2" in fresh
    assert 'href="/user/ana"' in fresh


def test_an_edited_post_shows_its_new_text(app, client, make_user):
    make_user("ana")
    post_id = publish(app, "ana", "the first words")
    assert "the first words" in client.get("/").get_data(as_text=True)
    with app.app_context():
        post = db.session.get(Post, post_id)
        blog.update_post(post, editor=post.author, body="the second words")
    page = client.get("/").get_data(as_text=True)
    assert "the second words" in page
    assert "the first words" not in page


def test_a_renamed_author_shows_the_new_name_and_link(app, client, make_user):
    user = make_user("ana")
    publish(app, "ana", "hello")
    assert 'href="/user/ana"' in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.get(User, user.id).username = "bea"
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'href="/user/bea">bea</a>' in page
    assert "/user/ana" not in page


def test_another_url_prefix_gets_its_own_links(app, client, make_user):
    make_user("ana")
    post_id = publish(app, "ana", "hello")
    assert f'href="/post/{post_id}"' in client.get("/").get_data(as_text=True)
    mounted = client.get("/", base_url="http://localhost/blog/").get_data(as_text=True)
    assert f'href="/blog/post/{post_id}"' in mounted
    assert 'href="/blog/user/ana"' in mounted


def test_no_more_cards_are_kept_than_the_store_holds(app, client, make_user, monkeypatch):
    monkeypatch.setattr(cards, "kept", Kept(4))
    make_user("ana")
    for n in range(7):
        publish(app, "ana", f"post number {n}")
    page = client.get("/").get_data(as_text=True)
    assert len(cards.kept) == 4
    assert all(f"post number {n}" in page for n in range(7))  # shown, kept or not
    assert client.get("/").get_data(as_text=True) == page


def test_a_single_post_page_shows_its_card(app, client, make_user):
    make_user("ana")
    post_id = publish(app, "ana", "a post of its own")
    page = client.get(f"/post/{post_id}").get_data(as_text=True)
    assert "a post of its own" in page
    assert 'href="/user/ana"' in page
