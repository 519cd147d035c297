import contextlib
import time

import pytest

from bulletin.core.markup import MAX_NESTING, TooDeeplyNested, render_markdown
from bulletin.models.blog import POST_MAX


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ("[click](JaVaScRiPt:alert(1))", "avascript"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "data:"),
        ('<div onclick="alert(1)">x</div>', "onclick"),
        ("<iframe src=https://evil.example></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ("<svg><script>alert(1)</script></svg>", "<svg"),
        ('<p style="position:fixed">x</p>', "style="),
    ],
)
def test_dangerous_markup_is_removed(source, forbidden):
    assert forbidden.lower() not in render_markdown(source).lower()


def test_markdown_is_rendered():
    html = render_markdown("**bold** and [a link](https://example.com)")
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


# The slowest families a fuzz of repeated Markdown and HTML fragments found
# (loadtests/markdown_bench searches more widely and prints its figures). The
# first took Python-Markdown 47 s; each is filled to a post's full length.
SLOW_FAMILIES = ["[", "![", "[a](", "](<", "<", "*_", "`", "- ", "\n- >)", "-\n1. ", "<b></p>"]
NESTED_FAMILIES = [">", "> ", ">>", "> - ", "<ul><li>", "<dl><dd>", "<div>", "<b>"]


def _filled(fragment: str) -> str:
    return (fragment * (POST_MAX // len(fragment) + 1))[:POST_MAX]


# The pathologies these families had cost tens of seconds; a post now takes
# a few hundredths of a second. The bound is this process's CPU time, which
# other work on the machine does not stretch, with a wide margin: the figures
# are in make bench, this guards against a family turning pathological again.
CPU_SECONDS_ALLOWED = 5.0


@pytest.mark.parametrize("fragment", SLOW_FAMILIES + NESTED_FAMILIES)
def test_any_post_renders_or_is_refused_without_a_pathological_cost(fragment):
    started = time.process_time()
    with contextlib.suppress(TooDeeplyNested):
        render_markdown(_filled(fragment))
    assert time.process_time() - started < CPU_SECONDS_ALLOWED


@pytest.mark.parametrize("fragment", NESTED_FAMILIES)
def test_nesting_past_the_limit_is_refused_with_what_to_fix(fragment):
    with pytest.raises(TooDeeplyNested, match=f"at most {MAX_NESTING} levels deep"):
        render_markdown(_filled(fragment))


def test_nesting_within_the_limit_renders():
    quotes = MAX_NESTING - 1  # the innermost paragraph is a level too
    html = render_markdown("> " * quotes + "deep")
    assert html.count("<blockquote>") == quotes


def test_commonmark_rules_apply():
    # What changed for writers: CommonMark, as GitHub and PyPI render it.
    assert "<em>a</em>" in render_markdown("*a*")
    assert "<li>one</li>" in render_markdown("a paragraph\n- one\n- two")
    assert '<ol start="3">' in render_markdown("3. three\n4. four")
    assert "<code>x &lt; y</code>" in render_markdown("`x < y`")
    assert '<abbr title="HyperText">HTML</abbr>' in render_markdown(
        '<abbr title="HyperText">HTML</abbr>'
    )
