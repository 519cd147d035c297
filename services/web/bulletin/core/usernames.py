"""What a username is: one rule for every place that stores one (the forms,
and the services behind the API and the command line), and a CHECK in the
database (migration b81d3f6a2c47) for anything that skips them.

A whole-string match, not a regex ending in ``$``: ``$`` also matches before
a final newline, which let ``admin\\n`` register and show exactly as ``admin``.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
RULE = "Use letters, numbers, dots or underscores, starting with a letter."


def checked_username(value: str) -> str:
    """``value`` as stored (trimmed), or ValueError saying what to fix."""
    value = value.strip()
    if not value:
        raise ValueError("Choose a username.")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"Use at most {MAX_LENGTH} characters (this was {len(value)}).")
    if not PATTERN.fullmatch(value):
        raise ValueError(RULE)
    return value
