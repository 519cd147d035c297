"""Relative times in pages ("3 minutes ago"): the markup carries the UTC
moment, and Flask-Moment's script writes it in the reader's words."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup


def time_ago(when: datetime) -> Markup:
    """What ``moment(timestamp).fromNow()`` writes, made without Flask-Moment's
    object: a feed page has twenty, and each of those formatted its markup
    through an escaping formatter, a tenth of the page's time. The digits of
    an ISO moment need no escaping."""
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup(  # noqa: S704  (only digits and separators go in)
        f'<span class="flask-moment" data-timestamp="{iso}" data-function="fromNow"'
        f' data-refresh="0" style="display: none">{iso}</span>'
    )
