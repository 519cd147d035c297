"""Where to go after signing in: only ever a path on this site."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def safe_next_path(target: str | None) -> str | None:
    """``target`` when it is a local path, else None.

    Browsers treat ``//host``, ``/\\host`` and ``\\\\host`` as other sites, so
    any backslash, a leading double slash, a scheme or a host is refused,
    in the raw value and in every percent-decoded form of it.
    """
    if not target:
        return None
    candidate = target
    for _ in range(5):  # undo double and triple encoding too
        if not _is_local_path(candidate):
            return None
        decoded = unquote(candidate)
        if decoded == candidate:
            return target
        candidate = decoded
    return None


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//"):
        return False
    if "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc
