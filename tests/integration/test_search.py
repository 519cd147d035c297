"""Search on both databases: the page, the API, whatever people type, and on
PostgreSQL the index that keeps it fast."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bulletin.core.pagination import Listing
from bulletin.extensions import db
from bulletin.models import Post, User, utcnow
from bulletin.services import blog, search
from tests.support import bearer, get_token, insert_posts

POSTS = {
    "kite": "A red kite circled over the hill this morning.",
    "owl": "An owl called all night from the old barn.",
    "both": "The owl watched the kite; neither moved.",
    "other": "Nothing about birds here, only bread recipes.",
}


@pytest.fixture
def posts(app, make_user) -> dict[str, int]:
    """The posts above by alice, oldest first; their ids by name."""
    make_user("alice")
    ids = {}
    with app.app_context():
        author = db.session.scalar(select(User).where(User.username == "alice"))
        for age, (name, body) in enumerate(reversed(POSTS.items())):
            post = blog.create_post(author=author, body=body)
            post.timestamp = utcnow() - timedelta(minutes=age)
            ids[name] = post.id
        db.session.commit()
    return ids


def found(client, query: str) -> set[int]:
    """The ids the search page links to."""
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200, response.data[:300]
    with client.application.app_context():
        every = db.session.scalars(select(Post.id)).all()
    page = response.get_data(as_text=True)
    return {post_id for post_id in every if f'href="/post/{post_id}"' in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [("kite", {"kite", "both"}), ("owl kite", {"both"}), ("BARN", {"owl"}), ("zebra", set())],
)
def test_plain_words_find_the_same_posts_on_both_databases(client, posts, query, expected):
    assert found(client, query) == {posts[name] for name in expected}


@pytest.mark.parametrize(
    "query",
    ['"red kite"', "kite -owl", "kite or owl", "owl & | ! ( ) : * '", '"unclosed', "-", "'; --"],
)
def test_quotes_and_operators_never_raise(client, posts, query):
    assert found(client, query) <= set(posts.values())


def test_an_empty_search_shows_the_form_only(client, posts):
    response = client.get("/search?q=+")
    assert response.status_code == 200
    assert b'name="q"' in response.data
    assert b"Read the post" not in response.data


def test_a_too_long_search_says_how_long_it_may_be(client, posts):
    response = client.get("/search", query_string={"q": "k" * 201})
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "at most 200 characters" in session["_flashes"][0][1]


def test_snippets_mark_the_words_and_cannot_carry_html(app, client, make_user):
    make_user("mallory")
    with app.app_context():
        author = db.session.scalar(select(User).where(User.username == "mallory"))
        blog.create_post(author=author, body='kites <img src=x onerror="alert(1)"> <b>fly</b>')
    page = client.get("/search?q=kites").get_data(as_text=True)
    snippet = page[page.index('class="snippet') : page.index("Read the post")]
    assert "<mark>kites</mark>" in snippet
    assert "<img" not in snippet, snippet
    assert "<b>" not in snippet, snippet


def test_equal_matches_come_newest_first(client, app, make_user):
    make_user("carol")
    with app.app_context():
        author = db.session.scalar(select(User).where(User.username == "carol"))
        older = blog.create_post(author=author, body="Heron at the pond.")
        older.timestamp = utcnow() - timedelta(days=1)
        newer = blog.create_post(author=author, body="Heron at the pond.")
        db.session.commit()
        older_id, newer_id = older.id, newer.id
    page = client.get("/search?q=heron").get_data(as_text=True)
    assert page.index(f'href="/post/{newer_id}"') < page.index(f'href="/post/{older_id}"')


def test_results_are_paged_like_the_feeds(app, client, make_user):
    app.config["POSTS_PER_PAGE"] = 2
    make_user("dave")
    with app.app_context():
        author = db.session.scalar(select(User).where(User.username == "dave"))
        for number in range(3):
            blog.create_post(author=author, body=f"Swift number {number}")
    first = client.get("/search?q=swift").get_data(as_text=True)
    assert first.count("Read the post") == 2
    more = re.search(r'href="(/search\?cursor=[^"]+)" *>More matches', first).group(1)
    assert client.get(html.unescape(more)).get_data(as_text=True).count("Read the post") == 1


def test_people_are_found_by_name(client, posts, make_user, database_url):
    make_user("beatrice")
    page = client.get("/search?q=beat").get_data(as_text=True)
    assert 'href="/user/beatrice"' in page
    if database_url.startswith("postgresql"):  # trigrams forgive a typo
        assert 'href="/user/beatrice"' in client.get("/search?q=baetrice").get_data(as_text=True)


def test_the_api_searches_posts_with_q(client, posts, make_user):
    make_user("reader")
    headers = bearer(get_token(client, "reader@example.com"))
    response = client.get("/api/v1/posts?q=owl", headers=headers)
    assert response.status_code == 200
    assert {item["id"] for item in response.json["items"]} == {posts["owl"], posts["both"]}
    assert "q=owl" in response.json["links"]["self"]
    everything = client.get("/api/v1/posts?q=", headers=headers).json["items"]
    assert len(everything) == len(POSTS)
    too_long = client.get("/api/v1/posts", query_string={"q": "x" * 201}, headers=headers)
    assert too_long.status_code == 422
    assert "q" in str(too_long.json["details"])


def test_a_nul_character_is_a_clear_error_not_a_server_error(client, posts, make_user):
    make_user("reader")
    headers = bearer(get_token(client, "reader@example.com"))
    response = client.get("/api/v1/posts", query_string={"q": "owl\x00"}, headers=headers)
    assert response.status_code == 422
    assert "NUL" in str(response.json["details"])
    assert client.get("/search", query_string={"q": "owl\x00"}).status_code == 303


def test_the_openapi_document_describes_q(client):
    spec = client.get("/api/v1/openapi.json").json
    parameters = spec["paths"]["/api/v1/posts"]["get"]["parameters"]
    assert any(p["name"] == "q" and p["in"] == "query" for p in parameters)


# The full-text index exists on PostgreSQL only: this test runs there alone.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_uses_the_index_on_100000_posts(app, make_user):
    author = make_user("writer")
    with app.app_context():
        insert_posts(
            author.id,
            100_000,
            body="'Post ' || g || CASE WHEN g % 1000 = 0 THEN ' about a zeppelin'"
            " ELSE ' about the weather' END",
            age="g * interval '1 second'",
        )
        query = search.posts("zeppelin").statement.limit(20).compile(db.engine)
        explained = db.session.connection().exec_driver_sql(f"EXPLAIN {query}", query.params)
        plan = "\n".join(row[0] for row in explained)
        db.session.commit()
    assert "ix_posts_search_vector" in plan, plan


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_word_in_every_post_ranks_only_the_newest_matches(app, make_user, monkeypatch):
    monkeypatch.setattr(search, "RANKED", 3)
    author = make_user("writer")
    with app.app_context():
        insert_posts(
            author.id,
            10,
            body="CASE WHEN g = 1 THEN 'owl owl owl owl' ELSE 'owl ' || g END",
            age="g * interval '1 minute'",
        )
        db.session.commit()
        found = db.session.scalars(search.posts("owl").statement).all()
    # The three newest, the one that says it most first; older ones are not ranked.
    assert [post.body for post in found] == ["owl owl owl owl", "owl 2", "owl 3"]


def _rows_read(plan: dict) -> int:
    """Rows every scan of ``plan`` read: those it kept and those it filtered out."""
    own = 0
    if "Scan" in plan["Node Type"] and plan.get("Relation Name") == "posts":
        own = (
            plan["Actual Rows"] * plan.get("Actual Loops", 1)
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
    return own + sum(_rows_read(child) for child in plan.get("Plans", []))


def _explained_rows(text: str) -> tuple[int, list[Post]]:
    everything = search.prepare(text)
    statement = search.posts(text, everything=everything).statement.limit(20)
    query = statement.compile(db.engine)
    [[[plan]]] = db.session.connection().exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", query.params
    )
    return _rows_read(plan["Plan"]), db.session.scalars(statement).all()


# The window and the index budget scaled down, so that a table 20 times
# their size is quick to make: a search that read it all would read 20,000 rows.
SCALE = 1_000


@pytest.fixture
def scaled_down(monkeypatch):
    monkeypatch.setattr(search, "RECENT_WINDOW", SCALE)
    monkeypatch.setattr(search, "GIN_BUDGET", SCALE)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "query",
    ["garden -garden", '"river garden"', "garden river -river", "garden nowhere"],
)
def test_no_search_reads_more_rows_as_the_table_grows(app, make_user, scaled_down, query):
    author = make_user("writer")
    with app.app_context():
        insert_posts(
            author.id,
            20_000,
            body="'garden and river, post ' || g"
            " || CASE WHEN g = 15000 THEN ' nowhere' ELSE '' END",
            age="g * interval '1 second'",
        )
        rows, _found = _explained_rows(query)
        db.session.commit()
    assert rows <= SCALE + search.RANKED, f"{query!r} read {rows} rows"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_rare_word_is_found_however_old_its_post(app, make_user, scaled_down):
    author = make_user("writer")
    with app.app_context():
        insert_posts(
            author.id,
            20_000,
            body="'garden post ' || g || CASE WHEN g % 5000 = 0 THEN ' zeppelin' ELSE '' END",
            age="g * interval '1 second'",
        )
        assert search.searches_everything("zeppelin")
        assert not search.searches_everything("garden zeppelin")  # garden is in every post
        rows, found = _explained_rows("zeppelin")
        numbers = sorted(int(post.body.split()[2]) for post in found)
        db.session.commit()
    # The oldest of them, post 20,000, is far past the window of 1,000.
    assert numbers == [5000, 10000, 15000, 20000]
    assert rows <= SCALE


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("path", ["/search?q=garden", "/api/v1/posts?q=garden"])
def test_a_search_past_its_time_is_asked_to_narrow_not_a_500(
    app, client, make_user, monkeypatch, path
):
    writer = make_user("writer")
    headers = bearer(get_token(client, "writer"))
    app.config["SEARCH_TIMEOUT_MS"] = 200
    real_posts = search.posts

    def slow_posts(query: str, **options: bool) -> Listing:
        # The real search, made to take 2 s: past the timeout, whatever the machine.
        listing = real_posts(query, **options)
        slow = listing.statement.where(text("(SELECT true FROM pg_sleep(2))"))
        return Listing(slow, rows=listing.rows)

    monkeypatch.setattr(search, "posts", slow_posts)
    with app.app_context():
        insert_posts(writer.id, 10, body="'garden ' || g", age="g * interval '1 second'")
        db.session.commit()
    response = client.get(path, headers=headers)
    if path.startswith("/api/"):
        assert response.status_code == 422
        assert response.json["message"] == search.NARROW
    else:  # a page goes back, with the message to read there
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert html.escape(search.NARROW, quote=True) in page
