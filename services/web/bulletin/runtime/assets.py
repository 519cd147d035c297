"""Versioned static URLs: /static/app.css?v=<hash of its content>.

nginx can then cache /static/ for a year, and a changed file still reaches
browsers at once, because its URL changes with its content.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from flask import Flask


@lru_cache(maxsize=256)
def _content_version(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:12]


def version_static_urls(app: Flask) -> None:
    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static" or "filename" not in values or app.static_folder is None:
            return
        path = os.path.join(app.static_folder, values["filename"])
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            return  # a missing file stays unversioned and answers 404
        values.setdefault("v", _content_version(path, mtime_ns))
