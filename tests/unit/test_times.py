"""time_ago writes what Flask-Moment would, so its script renders it."""

from datetime import UTC, datetime

from flask_moment import moment

from bulletin.web.times import time_ago


def test_time_ago_is_flask_moments_from_now_markup():
    when = datetime(2026, 12, 3, 6, 38, 49, 123456, tzinfo=UTC)
    assert time_ago(when) == moment(when).fromNow()
