"""Limits on what a route decorator cannot key: failed sign-ins per account,
mails per user and per address; and the API's writes per user, on the
hottest limited route, where Flask-Limiter's check cost about 100 µs of a
task's creation beside redis (it resolves the route's limits and builds
their objects on every request; here a limit is one hit on the counts).

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
# Asked again after 1, 2, 4 ... at most this many seconds while away, as
# Flask-Limiter asks for the routes.
LONGEST_WAIT_FOR_STORAGE = 32


class _Away:
    """Whether the shared storage failed lately, and when to ask it again: a
    host that vanished (no reset, a timeout each time) then costs a request
    every while, not every request."""

    def __init__(self) -> None:
        self.storage: object = None
        self.failures = 0
        self.ask_again_at = 0.0

    def skips(self, storage: object) -> bool:
        if storage is not self.storage:  # another app's storage, not yet failed
            self.storage, self.failures, self.ask_again_at = storage, 0, 0.0
        return time.monotonic() < self.ask_again_at

    def failed(self) -> None:
        self.ask_again_at = time.monotonic() + min(2**self.failures, LONGEST_WAIT_FOR_STORAGE)
        self.failures += 1

    def answered(self) -> None:
        self.failures, self.ask_again_at = 0, 0.0


_away = _Away()


def _counted(operation: Callable[[RateLimiter], T]) -> T:
    """``operation`` on the shared counts, or on this process's own while they are away."""
    if not _away.skips(limiter.storage):
        try:
            answer = operation(limiter.limiter)
        except Exception as error:  # redis' or limits' own: whatever the storage raised
            log.warning("rate-limit storage unreachable (%s): counting in memory", error)
            _away.failed()
        else:
            _away.answered()
            return answer
    return operation(_fallback)


def typed(value: str) -> str:
    """A key for something a person typed (a login, an address): the same
    whatever its case or surrounding spaces, and hashed, since what is typed
    can be as long as a header and a key need not be."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _enabled() -> bool:
    # This app's setting: the limiter object is shared by every app in a process.
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


# A limit's setting, parsed once (a few settings, each read on every hit).
_item = functools.lru_cache(maxsize=64)(parse)


def _key(key: Sequence[str]) -> Sequence[str]:
    # Apps that share one redis keep their counts apart, as Flask-Limiter's do.
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return (prefix, *key) if prefix else key


def _wait(item: RateLimitItem, key: Sequence[str]) -> int:
    reset_at, _ = _counted(lambda counts: counts.get_window_stats(item, *key))
    return max(1, int(reset_at - time.time()))


def retry_after(limit: str, key: Sequence[str]) -> int | None:
    """Seconds until ``key`` may try again under ``limit``; None when it may now."""
    if not _enabled():
        return None
    item, key = _item(limit), _key(key)
    if _counted(lambda counts: counts.test(item, *key)):
        return None
    return _wait(item, key)


def spend(limit: str, *keys: Sequence[str]) -> int | None:
    """Count one attempt under every key unless one is spent; then its seconds to wait.

    One key costs one round trip: the moving window's hit refuses without
    counting. Several are all tested first, so a spent one costs the others nothing.
    """
    if not _enabled():
        return None
    if len(keys) > 1:
        for key in keys:
            wait = retry_after(limit, key)
            if wait is not None:
                return wait
    item = _item(limit)
    for key in map(_key, keys):
        if not _counted(functools.partial(_hit, item=item, key=key)):
            return _wait(item, key)
    return None


def _hit(counts: RateLimiter, *, item: RateLimitItem, key: Sequence[str]) -> bool:
    return counts.hit(item, *key)


def forget(limit: str, key: Sequence[str]) -> None:
    """Start ``key``'s count again (a successful sign-in, a new password)."""
    if _enabled():
        item, key = _item(limit), _key(key)
        _counted(lambda counts: counts.clear(item, *key))
