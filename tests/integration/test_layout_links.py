"""The layout's fixed links are built once per app and URL root and kept
(web/layout.py): a kept link must be the one url_for builds for the request."""

from __future__ import annotations

import re

import pytest
from flask import url_for

from bulletin.core.kept import Kept
from bulletin.web import layout

MENU = ("main.index", "main.search_page", "auth.security", "auth.logout", "auth.export_data")


@pytest.fixture(autouse=True)
def no_links_kept(app, monkeypatch):
    """Each test starts with no root's links kept (the shared app keeps them)."""
    monkeypatch.setitem(app.extensions, "layout_links", Kept(layout.ROOTS_KEPT))


def built(app, base_url: str = "http://localhost/") -> dict[str, str]:
    with app.test_request_context("/", base_url=base_url):
        urls = {endpoint: url_for(endpoint) for endpoint in MENU}
        urls["css"] = url_for("static", filename="bulletin.css")
        return urls


def test_the_menu_links_are_url_fors(app, client, make_user, auth):
    make_user("ana")
    auth.login("ana@example.com")
    expected = built(app)
    for _ in range(2):  # built, then kept
        page = client.get("/").get_data(as_text=True)
        for url in expected.values():
            assert f'="{url}"' in page
    assert "bootstrap.min.css" in page
    assert re.search(r'src="[^"]*bootstrap[^"]*\.js"', page)


def test_each_script_root_gets_its_own_links(app, client):
    plain = client.get("/auth/login").get_data(as_text=True)
    mounted = client.get("/auth/login", base_url="http://localhost/blog/").get_data(as_text=True)
    assert f'href="{built(app)["css"]}"' in plain
    assert f'href="{built(app, "http://localhost/blog/")["css"]}"' in mounted
    assert 'href="/blog/auth/register"' in mounted
    assert 'href="/auth/register"' in client.get("/auth/login").get_data(as_text=True)
    assert len(app.extensions["layout_links"]) == 2


def test_in_debug_nothing_is_kept(app, client, monkeypatch):
    monkeypatch.setattr(app, "debug", True)
    assert 'href="/auth/register"' in client.get("/auth/login").get_data(as_text=True)
    (links,) = app.extensions["layout_links"].values()
    assert dict(links) == {}
