"""Limits on what a route decorator cannot key: failed sign-ins per account,
mails per user and per address.

The counts live in Flask-Limiter's storage, so with redis every worker and
replica shares them, as it shares the per-route limits. While that storage
cannot be reached, each process counts in its own memory (as Flask-Limiter
does for the routes, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED): sign-in keeps
working, limited per process, with a warning in the log, and /metrics says
``bulletin_rate_limit_storage_up 0``. Counts go to redis again once it is back.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from ..extensions import limiter

log = logging.getLogger(__name__)
# This process's counts while the shared storage is away (the settings' moving window).
_fallback = MovingWindowRateLimiter(MemoryStorage())
T = TypeVar("T")


def _counted(operation: Callable[[RateLimiter], T]) -> T:
    """``operation`` on the shared counts, or on this process's own while they are away."""
    try:
        return operation(limiter.limiter)
    except Exception as error:  # redis' or limits' own: whatever the storage raised
        log.warning("rate-limit storage unreachable (%s): counting in memory", error)
        return operation(_fallback)


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
    if _counted(lambda counts: counts.test(item, *key)):
        return None
    reset_at, _ = _counted(lambda counts: counts.get_window_stats(item, *key))
    return max(1, int(reset_at - time.time()))


def spend(limit: str, *keys: Sequence[str]) -> int | None:
    """Count one attempt under every key unless one is spent; then its seconds to wait."""
    for key in keys:
        wait = retry_after(limit, key)
        if wait is not None:
            return wait
    if _enabled():
        item = parse(limit)
        for key in keys:
            _counted(functools.partial(_hit, item=item, key=key))
    return None


def _hit(counts: RateLimiter, *, item: RateLimitItem, key: Sequence[str]) -> bool:
    return counts.hit(item, *key)


def forget(limit: str, key: Sequence[str]) -> None:
    """Start ``key``'s count again (a successful sign-in, a new password)."""
    if _enabled():
        _counted(lambda counts: counts.clear(parse(limit), *key))
