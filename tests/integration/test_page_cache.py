"""What the app lets a shared cache keep (bulletin/web/page_cache.py): visitors'
pages, never a signed-in reader's, never one that sets a cookie. nginx's side
is proven through the real nginx in tests/https_checks.py."""

from __future__ import annotations

import pytest

from bulletin.config import ConfigError, load_config
from bulletin.services import blog
from tests.support import get_user


@pytest.fixture
def cached(app, make_user):
    app.config["PAGE_CACHE_SECONDS"] = 3
    make_user("writer")
    with app.app_context():
        from bulletin.extensions import db

        post = blog.create_post(author=db.session.merge(get_user(app, "writer")), body="hello")
        return post.id


def test_visitors_pages_may_be_shared_and_set_no_cookie(client, cached):
    for path in ("/", f"/post/{cached}", "/user/writer"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=0, s-maxage=3", path
        assert "Set-Cookie" not in response.headers, path


def test_signed_in_pages_are_private(client, auth, cached):
    auth.login("writer@example.com")
    for path in ("/", f"/post/{cached}", "/user/writer"):
        response = client.get(path)
        assert "private" in response.headers["Cache-Control"], path
        assert "public" not in response.headers["Cache-Control"], path


def test_not_found_and_off_are_not_shared(app, client, cached):
    # An error page carries no lifetime, and nginx keeps nothing without one.
    assert "public" not in client.get("/user/nobody").headers.get("Cache-Control", "")
    app.config["PAGE_CACHE_SECONDS"] = 0
    assert "private" in client.get("/").headers["Cache-Control"]


def test_the_other_pages_say_nothing_a_cache_could_take(client, cached):
    assert "public" not in client.get("/auth/login").headers.get("Cache-Control", "")


@pytest.mark.parametrize("value", ["-1", "61", "soon"])
def test_the_setting_is_checked(value):
    with pytest.raises(ConfigError, match="PAGE_CACHE_SECONDS"):
        load_config("testing", {"PAGE_CACHE_SECONDS": value})


def test_production_shares_for_two_seconds_development_never():
    production = {"SECRET_KEY": "x" * 40, "SERVER_NAME": "example.com", "GUNICORN_WORKERS": "1"}
    assert load_config("production", production).PAGE_CACHE_SECONDS == 2
    assert load_config("development", {}).PAGE_CACHE_SECONDS == 0
