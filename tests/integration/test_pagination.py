"""Keyset pages on both databases: every row once, forwards and back, whatever
is published meanwhile; cursors that are damaged or made up; and on
PostgreSQL a page 90,000 posts deep read straight from the index."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from bulletin.core.pagination import encode_cursor, paginate
from bulletin.extensions import db
from bulletin.models import Comment, Post, User, utcnow
from bulletin.services import blog, tasks
from tests.support import bearer, csrf_token, get_token, insert_posts

PER_PAGE = 4


@pytest.fixture
def small_pages(app):
    for setting in ("POSTS_PER_PAGE", "COMMENTS_PER_PAGE", "FOLLOWERS_PER_PAGE"):
        app.config[setting] = PER_PAGE
    return app


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def add_posts(app, username: str, count: int) -> list[int]:
    """``count`` posts, three to a timestamp, so the id must break the ties;
    returned newest first, the feeds' order."""
    start = utcnow() - timedelta(days=1)
    with app.app_context():
        author = _user(username)
        posts = [
            Post(author=author, body=f"post {n}", timestamp=start + timedelta(seconds=n // 3))
            for n in range(count)
        ]
        db.session.add_all(posts)
        db.session.commit()
        return [p.id for p in sorted(posts, key=lambda p: (p.timestamp, p.id), reverse=True)]


def add_comments(app, post_id: int, username: str, count: int) -> list[int]:
    """Oldest first, the order of a post's comments; every third one hidden."""
    start = utcnow() - timedelta(hours=1)
    with app.app_context():
        author, post = _user(username), db.session.get(Post, post_id)
        comments = [
            Comment(
                post=post,
                author=author,
                body=f"comment {n}",
                timestamp=start + timedelta(seconds=n // 2),
                disabled=n % 3 == 2,
            )
            for n in range(count)
        ]
        db.session.add_all(comments)
        db.session.commit()
        return [c.id for c in sorted(comments, key=lambda c: (c.timestamp, c.id))]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"#]+)', page)
    return html.unescape(found.group(1)) if found else None


def walk(client, path: str, ids_on_page) -> tuple[list[int], list[int]]:
    """Every id met following the next links from ``path``, then the prev links back."""
    forward, pages = [], []
    while path:
        page = client.get(path)
        assert page.status_code == 200, (path, page.get_data(as_text=True)[:500])
        pages.append(ids_on_page(page))
        forward += pages[-1]
        last_text = page.get_data(as_text=True)
        path = link(last_text, "next")
    backward, path = [], link(last_text, "prev")
    while path:
        page = client.get(path)
        backward = ids_on_page(page) + backward
        path = link(page.get_data(as_text=True), "prev")
    assert all(len(ids) == PER_PAGE for ids in pages[:-1])
    return forward, backward + pages[-1]


def post_ids(page) -> list[int]:
    return [
        int(n) for n in re.findall(r'href="/post/(\d+)">Permalink', page.get_data(as_text=True))
    ]


def test_the_feeds_show_every_post_once_forwards_and_back(small_pages, client, make_user, auth):
    make_user("writer")
    newest_first = add_posts(small_pages, "writer", 22)
    assert walk(client, "/", post_ids) == (newest_first, newest_first)
    assert walk(client, "/user/writer", post_ids) == (newest_first, newest_first)
    make_user("reader")
    auth.login("reader@example.com")
    client.post("/follow/writer", data={"csrf_token": csrf_token(client, "/user/writer")})
    client.get("/followed")
    assert walk(client, "/", post_ids) == (newest_first, newest_first)


def test_comments_and_moderation_are_paged_in_their_own_order(small_pages, client, make_user, auth):
    make_user("writer")
    make_user("mod", role="Moderator")
    (post_id,) = add_posts(small_pages, "writer", 1)
    oldest_first = add_comments(small_pages, post_id, "writer", 14)
    with small_pages.app_context():
        hidden = {c.id for c in db.session.scalars(select(Comment).where(Comment.disabled))}

    def comment_ids(page) -> list[int]:
        return [int(n) for n in re.findall(r"/moderate/(?:en|dis)able/(\d+)", page.text)]

    def visible_bodies(page) -> list[str]:
        return re.findall(r"<p>(comment \d+)</p>", page.text)

    everyone = [f"comment {n}" for n in range(14) if n % 3 != 2]
    forward, backward = walk(client, f"/post/{post_id}", visible_bodies)
    assert forward == backward == everyone
    auth.login("mod@example.com")
    assert walk(client, f"/post/{post_id}", comment_ids) == (oldest_first, oldest_first)
    newest_first = oldest_first[::-1]
    assert walk(client, "/moderate", comment_ids) == (newest_first, newest_first)
    assert hidden
    assert hidden <= set(oldest_first)


def test_a_post_published_while_reading_is_not_shown_twice(small_pages, client, make_user):
    make_user("writer")
    newest_first = add_posts(small_pages, "writer", 9)
    first = client.get("/")
    assert post_ids(first) == newest_first[:4]
    with small_pages.app_context():
        blog.create_post(author=_user("writer"), body="breaking news")
    older = client.get(link(first.text, "next"))
    assert post_ids(older) == newest_first[4:8]


def api_ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def api_walk(client, headers, path: str) -> tuple[list[int], list[int]]:
    forward, response = [], None
    while path:
        response = client.get(path, headers=headers)
        forward += api_ids(response)
        path = (response.json["links"]["next"] or "").replace("http://localhost", "")
    backward = api_ids(response)
    path = (response.json["links"]["prev"] or "").replace("http://localhost", "")
    while path:
        response = client.get(path, headers=headers)
        backward = api_ids(response) + backward
        path = (response.json["links"]["prev"] or "").replace("http://localhost", "")
    return forward, backward


def test_every_api_list_walks_both_ways(app, client, make_user):
    writer = make_user("writer")
    newest_first = add_posts(app, "writer", 11)
    oldest_comments = add_comments(app, newest_first[0], "writer", 9)
    visible = [c for n, c in enumerate(oldest_comments) if n % 3 != 2]
    with app.app_context():
        task_ids = [
            tasks.create_task(owner_id=_user("writer").id, title=f"t{n}").id for n in range(7)
        ]
    headers = bearer(get_token(client, "writer@example.com"))
    who = f"/api/v1/users/{writer.public_id}"
    for path, expected in (
        ("/api/v1/posts?per_page=3", newest_first),
        (f"{who}/posts?per_page=3", newest_first),
        (f"{who}/timeline?per_page=3", newest_first),
        (f"/api/v1/posts/{newest_first[0]}/comments?per_page=2", visible),
        ("/api/v1/tasks?per_page=2", task_ids),
        ("/todo/api/v1.0/tasks?per_page=2", task_ids),
    ):
        assert api_walk(client, headers, path) == (expected, expected), path


def test_the_links_keep_the_filter(app, client, make_user):
    make_user("writer")
    with app.app_context():
        for n in range(5):
            tasks.create_task(owner_id=_user("writer").id, title=f"t{n}", done=n % 2 == 0)
    headers = bearer(get_token(client, "writer@example.com"))
    page = client.get("/api/v1/tasks?done=true&per_page=2", headers=headers).json
    assert "done=true" in page["links"]["next"]
    assert "cursor=" in page["links"]["next"]
    rest = client.get(page["links"]["next"].replace("http://localhost", ""), headers=headers)
    assert [t["title"] for t in rest.json["items"]] == ["t4"]


DAMAGED = [
    "not base64!",
    "e30",  # {}
    encode_cursor({"after": "1"}),
    encode_cursor({"after": [1]}),  # one key where the feed has two
    encode_cursor({"after": ["yesterday", 5]}),
    encode_cursor({"after": ["2026-01-01T00:00:00", 5]}),  # no time zone
    encode_cursor({"after": ["2026-01-01T00:00:00+00:00", True]}),
    encode_cursor({"sideways": [1, 2]}),
    encode_cursor({"offset": -20}),
    encode_cursor({"offset": "20"}),
    "A" * 500,
]


@pytest.mark.parametrize("cursor", DAMAGED)
def test_a_damaged_cursor_is_404_saying_what_to_do(app, client, make_user, cursor):
    make_user("writer")
    add_posts(app, "writer", 3)
    page = client.get("/", query_string={"cursor": cursor})
    assert page.status_code == 404
    assert "start again from the first page" in page.text
    headers = bearer(get_token(client, "writer@example.com"))
    response = client.get("/api/v1/posts", query_string={"cursor": cursor}, headers=headers)
    assert response.status_code in (404, 422)  # 422: longer than the schema allows
    if response.status_code == 404:
        assert "start again from the first page" in response.json["message"]


def test_a_made_up_cursor_reaches_nothing_the_reader_may_not_see(app, client, make_user):
    make_user("alice")
    make_user("bob")
    (post_id,) = add_posts(app, "alice", 1)
    add_comments(app, post_id, "alice", 6)
    with app.app_context():
        for n in range(3):
            tasks.create_task(owner_id=_user("alice").id, title=f"alice's secret {n}")
    headers = bearer(get_token(client, "bob@example.com"))
    from_the_start = encode_cursor({"after": [0]})
    response = client.get("/api/v1/tasks", query_string={"cursor": from_the_start}, headers=headers)
    assert response.status_code == 200
    assert response.json["items"] == []
    ancient = encode_cursor({"after": ["2000-01-01T00:00:00+00:00", 0]})
    comments = client.get(
        f"/api/v1/posts/{post_id}/comments", query_string={"cursor": ancient}, headers=headers
    ).json["items"]
    assert len(comments) == 4
    assert all("comment" in c["body"] for c in comments)
    assert {c["body"] for c in comments}.isdisjoint({"comment 2", "comment 5"})  # hidden ones


def test_a_cursor_past_every_row_offers_the_first_page(app, client, make_user):
    make_user("writer")
    add_posts(app, "writer", 2)
    past = encode_cursor({"after": ["2000-01-01T00:00:00+00:00", 0]})
    page = client.get("/", query_string={"cursor": past})
    assert page.status_code == 200
    assert "No posts yet" in page.text
    assert "?cursor=" in (link(page.text, "prev") or "")


def test_the_openapi_document_offers_cursor_and_deprecates_page(client):
    spec = client.get("/api/v1/openapi.json").json
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert "cursor" in parameters
    assert parameters["page"].get("deprecated") is True
    assert set(spec["components"]["schemas"]["TaskPage"]["properties"]) == {
        "items",
        "per_page",
        "links",
    }


# The deep page that took 1.5 s with OFFSET: on PostgreSQL its plan starts at
# the cursor in the index and reads only the page.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_deep_page_on_postgresql_reads_only_its_rows(app, make_user):
    author = make_user("writer")
    with app.app_context():
        insert_posts(author.id, 100_000, body="'Post ' || g", age="(g / 3) * interval '1 second'")
        deep = db.session.execute(
            select(Post.timestamp, Post.id)
            .order_by(Post.timestamp.desc(), Post.id.desc())
            .offset(90_000)
            .limit(1)
        ).one()
        db.session.commit()
    # (With one author, the profile's best plan is the home feed's index too.)
    for listing in (blog.all_posts(), blog.posts_by(author), blog.followed_posts(author)):
        with app.test_request_context():
            statements: list[tuple[str, object]] = []

            def record(*args, statements=statements):
                statements.append((args[2], args[3]))

            event.listen(db.engine, "before_cursor_execute", record)
            try:
                page = paginate(
                    listing, per_page=20, cursor=encode_cursor({"after": [deep.timestamp, deep.id]})
                )
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            assert len(page.items) == 20
            assert page.items[0].id != deep.id
            sql, params = statements[0]
            plan = (
                db.session.connection()
                .exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
                .scalar()
            )
            db.session.rollback()
        flat = json.dumps(plan)
        assert "ix_posts_timestamp_id" in flat, flat
        assert not re.search(r'"Node Type": "[^"]*Sort"', flat), flat
        # The rows read: the page and the one that tells whether another follows.
        assert max(int(n) for n in re.findall(r'"Actual Rows": (\d+)', flat)) <= 21 * 3, flat
