"""A feed's cards, each rendered once for what it shows and then kept.

A feed page is twenty cards (macros/posts.html: post_card), and rendering
them through Jinja was half the signed-in home page's template: 570 µs of
its 1,180. The newest posts are what most signed-in pages show, to every
reader alike, so a card rendered for one reader serves the next.

A card is kept under everything it is made of: the post's id, time, HTML
and author, this request's links (another URL prefix makes another card)
and the macro itself (a reloaded template makes new ones). An edited post
or a renamed author is therefore a new card, and an old one is never shown;
the oldest go once CARDS_KEPT are held, in each worker process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy.engine import Row

from ..core.kept import Kept
from .urls import row_url_parts, row_urls

# Cards each worker keeps: about thirteen pages of twenty. A card is its post's
# HTML twice (key and card), a few hundred bytes for most posts.
CARDS_KEPT = 256

kept: Kept[str] = Kept(CARDS_KEPT)


def feed_cards(posts: Sequence[Any], post_card: Callable[..., str]) -> Markup:
    """The cards of ``posts`` (feed rows of blog.POST_CARD, or Post entities),
    as ``post_card(post, user_url, post_url)`` renders each."""
    links = (
        post_card,
        row_url_parts("main.user", "username"),
        row_url_parts("main.post", "post_id"),
    )
    user_url, post_url = row_urls("main.user", "username"), row_urls("main.post", "post_id")
    shown = []
    for post in posts:
        key = (links, _shown_fields(post))
        card = kept.get(key)
        if card is None:
            card = kept.keep(key, str(post_card(post, user_url, post_url)))
        shown.append(card)
    return Markup("".join(shown))  # noqa: S704  (each card is a rendered template)


def _shown_fields(post: Any) -> tuple[Any, ...]:
    # A feed row is POST_CARD's columns in this order; reading them by name
    # costs a microsecond each on a Row, by position a tenth of that.
    if isinstance(post, Row):
        return tuple(post)
    return (post.id, post.timestamp, post.body_html, post.author_username)
