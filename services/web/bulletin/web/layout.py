"""The layout's links (templates/base.html), built once per app and URL root.

Every page links the same twenty URLs: the menu's, the static files' and
Bootstrap's. url_for and Bootstrap-Flask's load_css and load_js built them
on every page, 240 of the 390 µs a signed-in page's layout took. They depend
only on the app and on the request's URL root (host, scheme and script
root), so each is built the first time a root asks for it and then kept:
``links['auth.login']``, ``links['static:bulletin.css']`` (with its version)
and ``links['bootstrap:css']`` or ``links['bootstrap:js']``. In debug
nothing is kept, so a static file's version follows its edits. Each app
keeps its own (``app.extensions["layout_links"]``).
"""

from __future__ import annotations

from flask import current_app, request, url_for

from ..core.kept import Kept
from ..extensions import bootstrap

ROOTS_KEPT = 16  # an app answers a few names, over http and https


class Links(dict[str, str]):
    """One URL root's layout links, each built by its first ``links[key]``."""

    def __missing__(self, key: str) -> str:
        kind, _, name = key.partition(":")
        if kind == "static":
            url = url_for("static", filename=name)
        elif kind == "bootstrap":
            url = bootstrap.load_css() if name == "css" else bootstrap.load_js()
        else:
            url = url_for(key)
        if not current_app.debug:
            self[key] = url  # one item: atomic, so the request threads may share it
        return url


def layout_links() -> Links:
    """The links of this request's app and URL root."""
    kept: Kept[Links] | None = current_app.extensions.get("layout_links")
    if kept is None:
        kept = current_app.extensions.setdefault("layout_links", Kept(ROOTS_KEPT))
    root = (request.host, request.scheme, request.script_root)
    links = kept.get(root)
    return kept.keep(root, Links()) if links is None else links
