"""The reports page's tables: activity per day, the most active authors and
the most commented posts.

The database does the counting (GROUP BY over the indexed timestamps), so
only a few dozen rows ever reach Python, however big the tables; pandas
shapes them (a row for every day, zeros included) and renders the tables
and their CSV files. pandas is imported on the first report a worker makes,
not at start: workers that never make one do not carry it (44 MB each,
measured in the image; the image itself grows by 175 MB with pandas and numpy).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select

from ..extensions import db
from ..models import Comment, Post, User, utcnow

if TYPE_CHECKING:
    import pandas as pd

DAYS = 30
TOP = 10
EXCERPT = 80  # characters of a post shown in the most-commented table


def _day(column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, on either database."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _first_day() -> date:
    return utcnow().date() - timedelta(days=DAYS - 1)


def _since() -> datetime:
    """The first day's start, UTC: what each count is taken from."""
    return datetime.combine(_first_day(), time(), UTC)


def activity() -> pd.DataFrame:
    """Posts, comments and sign-ups on each of the last DAYS days, oldest first."""
    import pandas as pd

    since = _since()
    counts = {}
    for name, column in (
        ("posts", Post.timestamp),
        ("comments", Comment.timestamp),
        ("sign-ups", User.member_since),
    ):
        day = _day(column)
        rows = db.session.execute(
            select(day, func.count()).where(column >= since).group_by(day)
        ).all()
        counts[name] = pd.Series(
            [count for _, count in rows],
            index=pd.to_datetime([str(day) for day, _ in rows]),
            dtype="int64",
        )
    days = pd.date_range(_first_day(), periods=DAYS, freq="D")
    table = pd.DataFrame(counts, index=days).fillna(0).astype("int64")
    table.index.name = "day"
    return table.reset_index().assign(day=lambda frame: frame["day"].dt.date)


def active_authors() -> pd.DataFrame:
    """The TOP authors by posts and comments written in the last DAYS days."""
    import pandas as pd

    since = _since()
    posts = (
        select(Post.author_id.label("user_id"), func.count().label("posts"))
        .where(Post.timestamp >= since)
        .group_by(Post.author_id)
        .subquery()
    )
    comments = (
        select(Comment.author_id.label("user_id"), func.count().label("comments"))
        .where(Comment.timestamp >= since)
        .group_by(Comment.author_id)
        .subquery()
    )
    written = func.coalesce(posts.c.posts, 0) + func.coalesce(comments.c.comments, 0)
    rows = db.session.execute(
        select(
            User.username,
            func.coalesce(posts.c.posts, 0),
            func.coalesce(comments.c.comments, 0),
        )
        .outerjoin(posts, posts.c.user_id == User.id)
        .outerjoin(comments, comments.c.user_id == User.id)
        .where(written > 0)
        .order_by(written.desc(), User.username)
        .limit(TOP)
    ).all()
    return pd.DataFrame(rows, columns=["author", "posts", "comments"])


def most_commented() -> pd.DataFrame:
    """The TOP posts with the most comments."""
    import pandas as pd

    counted = (
        select(Comment.post_id, func.count().label("comments"))
        .group_by(Comment.post_id)
        .order_by(func.count().desc(), Comment.post_id.desc())
        .limit(TOP)
        .subquery()
    )
    rows = db.session.execute(
        select(Post.id, func.substr(Post.body, 1, EXCERPT), User.username, counted.c.comments)
        .join(counted, counted.c.post_id == Post.id)
        .join(User, User.id == Post.author_id)
        .order_by(counted.c.comments.desc(), Post.id.desc())
    ).all()
    return pd.DataFrame(rows, columns=["post", "excerpt", "author", "comments"])


TABLES = {
    "activity": activity,
    "authors": active_authors,
    "posts": most_commented,
}


def as_html(table: pd.DataFrame) -> str:
    """A Bootstrap table; pandas escapes every cell."""
    return table.to_html(classes="table table-sm table-striped", index=False, border=0, escape=True)


# A cell that begins with one of these is a formula to a spreadsheet (OWASP's
# CSV injection): =HYPERLINK(...) in a post's excerpt would run on an
# administrator's machine. Such a cell is prefixed with ' and so read as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(table: pd.DataFrame) -> str:
    """CSV for a spreadsheet: every text cell inert and every field quoted, so a
    line break inside a post stays inside its cell."""
    return table.map(_as_text).to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")


def chart(table: pd.DataFrame, column: str = "posts") -> dict[str, Any]:
    """Bars for an SVG drawn by the template: one per day, scaled to the busiest."""
    width, height, gap = 600, 120, 2
    values = table[column].tolist()
    peak = max(values) or 1
    slot = width / len(values)
    bars = [
        {
            "x": round(index * slot, 1),
            "width": round(slot - gap, 1),
            "height": round(value / peak * height, 1),
            "label": f"{day}: {value} {column}",
        }
        for index, (day, value) in enumerate(zip(table["day"], values, strict=True))
    ]
    return {"width": width, "height": height, "peak": peak, "bars": bars}
