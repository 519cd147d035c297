"""/admin/reports on both databases: who may see it, the numbers, the CSV
files, and a content security policy as strict as every other page's."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import Post, User, utcnow
from bulletin.services import blog
from tests.support import Auth


@pytest.fixture
def activity(app, make_user) -> None:
    """Two authors: ann wrote 3 posts today and 1 forty days ago, bob commented twice."""
    make_user("ann")
    make_user("bob")
    with app.app_context():
        ann = db.session.scalar(select(User).where(User.username == "ann"))
        bob = db.session.scalar(select(User).where(User.username == "bob"))
        first = blog.create_post(author=ann, body="<script>alert(1)</script> first post")
        for body in ("second post", "third post"):
            blog.create_post(author=ann, body=body)
        old = blog.create_post(author=ann, body="an old post")
        old.timestamp = utcnow() - timedelta(days=40)
        db.session.commit()
        for body in ("nice", "agreed"):
            blog.add_comment(post=db.session.get(Post, first.id), author=bob, body=body)


@pytest.mark.parametrize(
    ("role", "status"), [("User", 403), ("Moderator", 200), ("Administrator", 200)]
)
def test_administrators_and_moderators_only(client, auth, make_user, role, status):
    make_user("viewer", role=role)
    auth.login("viewer@example.com")
    assert client.get("/admin/reports").status_code == status
    assert client.get("/admin/reports/activity.csv").status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/admin/reports").status_code == 302


def test_the_page_shows_the_counts_escaped_with_a_chart(client, auth, make_user, activity):
    make_user("mod", role="Moderator")
    auth.login("mod@example.com")
    response = client.get("/admin/reports")
    page = response.get_data(as_text=True)
    assert "<svg" in page
    assert page.count("<rect") == 30
    assert "&lt;script&gt;alert(1)&lt;/script&gt; first post" in page
    assert "<script>alert(1)" not in page
    assert (
        response.headers["Content-Security-Policy"]
        == (client.get("/").headers["Content-Security-Policy"])
    )


def csv_rows(client, name: str) -> list[dict[str, str]]:
    response = client.get(f"/admin/reports/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"bulletin-{name}.csv" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_each_table_downloads_as_csv_with_the_right_numbers(client, auth, make_user, activity):
    make_user("admin", role="Administrator")
    auth.login("admin@example.com")
    days = csv_rows(client, "activity")
    assert len(days) == 30
    today = days[-1]
    assert today["day"] == utcnow().date().isoformat()
    assert (today["posts"], today["comments"], today["sign-ups"]) == ("3", "2", "3")
    assert sum(int(day["posts"]) for day in days) == 3  # the old post is outside the 30 days
    authors = csv_rows(client, "authors")
    assert [(a["author"], a["posts"], a["comments"]) for a in authors] == [
        ("ann", "3", "0"),
        ("bob", "0", "2"),
    ]
    posts = csv_rows(client, "posts")
    assert len(posts) == 1
    assert posts[0]["comments"] == "2"
    assert posts[0]["author"] == "ann"


def test_an_unknown_report_is_a_404_that_names_the_real_ones(client, auth, make_user):
    make_user("admin", role="Administrator")
    auth.login("admin@example.com")
    response = client.get("/admin/reports/secrets.csv")
    assert response.status_code == 404
    assert b"activity, authors, posts" in response.data


def test_an_empty_site_has_zeros_not_errors(client, auth, make_user):
    make_user("admin", role="Administrator")
    auth.login("admin@example.com")
    assert client.get("/admin/reports").status_code == 200
    assert csv_rows(client, "posts") == []


@pytest.mark.parametrize(
    "body",
    [
        '=HYPERLINK("https://evil.example","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\tleading tab",
        "\rcarriage return",
    ],
)
def test_a_formula_in_a_post_reaches_the_spreadsheet_as_text(app, client, make_user, body):
    make_user("ann")
    make_user("admin", role="Administrator")
    with app.app_context():
        ann = db.session.scalar(select(User).where(User.username == "ann"))
        post = blog.create_post(author=ann, body=body)
        blog.add_comment(post=post, author=ann, body="a comment")
    Auth(client).login("admin@example.com")
    [row] = csv_rows(client, "posts")
    assert row["excerpt"] == "'" + body


def test_a_line_break_inside_a_post_stays_inside_its_cell(app, client, make_user):
    make_user("ann")
    make_user("admin", role="Administrator")
    with app.app_context():
        ann = db.session.scalar(select(User).where(User.username == "ann"))
        post = blog.create_post(author=ann, body="one\rtwo,three\n=four")
        blog.add_comment(post=post, author=ann, body="a comment")
    Auth(client).login("admin@example.com")
    text = client.get("/admin/reports/posts.csv").get_data(as_text=True)
    # Every field quoted: a reader that splits rows on any line break still
    # finds the break inside quotes.
    assert text.splitlines()[0] == '"post","excerpt","author","comments"'
    [row] = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert row[1] == "one\rtwo,three\n=four"
