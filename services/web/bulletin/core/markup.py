"""Markdown to HTML that is safe to show other people, in time linear in its length.

CommonMark through cmark (C, cmarkgfm): its parser is built to be linear for
every input, where Python-Markdown took 47 s on ``"[" * 10000``. Raw HTML goes
through to nh3, the sanitizer, which keeps only the tags below, as before.

nh3's HTML parser is the one part that is not linear: every tag looks through
the elements still open, so 10,000 nested quotes (``">" * 10000``) cost 226 ms.
Real writing nests a few levels deep; a text that nests deeper than
MAX_NESTING is refused with a message (``TooDeeplyNested``), which caps that
look at a constant. The depth is read from cmark's output in one pass.
"""

from __future__ import annotations

import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}}
# Quotes in quotes, lists in lists and HTML tags in tags, counted together.
MAX_NESTING = 40
# Elements that never hold others, so they open no level.
VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
# A tag, read up to the next < or > only, so a text of unclosed "<a " costs one
# pass rather than a scan to the end for every one of them.
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")


class TooDeeplyNested(ValueError):
    """The text nests quotes, lists or tags deeper than anyone reads."""

    def __init__(self, depth: int) -> None:
        super().__init__(
            f"Nest quotes, lists and HTML tags at most {MAX_NESTING} levels deep "
            f"(this text goes {depth} deep)."
        )


def nesting_depth(html: str) -> int:
    """How deep the tags of ``html`` nest; unclosed tags count as open."""
    depth = deepest = 0
    for closing, name, self_closing in TAG.findall(html):
        if name.lower() in VOID_ELEMENTS or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def render_markdown(text: str) -> str:
    """Render ``text`` and keep only harmless tags, attributes and link schemes.

    Raises ``TooDeeplyNested`` for a text nested past MAX_NESTING.
    """
    html = cmarkgfm.markdown_to_html(text, Options.CMARK_OPT_UNSAFE)
    depth = nesting_depth(html)
    if depth > MAX_NESTING:
        raise TooDeeplyNested(depth)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
