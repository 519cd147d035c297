import pytest

from bulletin.markdown import render_markdown


@pytest.mark.parametrize(
    "source, forbidden",
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
