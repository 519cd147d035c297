"""Limits on what a route decorator cannot key: failed sign-ins per account,
mails per user and per address.

The counts live in Flask-Limiter's storage, so with redis every worker and
replica shares them, as it shares the per-route limits.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from flask import current_app
from limits import parse

from ..extensions import limiter


def typed(value: str) -> str:
    """A key for something a person typed (a login, an address): the same
    whatever its case or surrounding spaces, and hashed, since what is typed
    can be as long as a header and a key need not be."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _enabled() -> bool:
    # This app's setting: the limiter object is shared by every app in a process.
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def retry_after(limit: str, key: Sequence[str]) -> int | None:
    """Seconds until ``key`` may try again under ``limit``; None when it may now."""
    if not _enabled():
        return None
    item = parse(limit)
    if limiter.limiter.test(item, *key):
        return None
    reset_at, _ = limiter.limiter.get_window_stats(item, *key)
    return max(1, int(reset_at - time.time()))


def spend(limit: str, *keys: Sequence[str]) -> int | None:
    """Count one attempt under every key unless one is spent; then its seconds to wait."""
    for key in keys:
        wait = retry_after(limit, key)
        if wait is not None:
            return wait
    if _enabled():
        for key in keys:
            limiter.limiter.hit(parse(limit), *key)
    return None


def forget(limit: str, key: Sequence[str]) -> None:
    """Start ``key``'s count again (a successful sign-in, a new password)."""
    if _enabled():
        limiter.limiter.clear(parse(limit), *key)
