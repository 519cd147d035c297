"""What a worker keeps of work it will be asked for again: a bounded store
its threads share, the oldest entry dropped first.

Entries are kept under everything they are made of, so a kept one is never
stale, only evicted: feed cards (web/cards.py), the layout's links
(web/layout.py), the claims of checked API tokens (services/api_tokens.py,
whose expiry is checked on each use).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Kept(Generic[Value]):
    """At most ``size`` values by key; reads take no lock (a dict's get is
    atomic), a keep takes one to add and evict together."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: dict[Hashable, Value] = {}
        self._keeping = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        return self._values.get(key)

    def keep(self, key: Hashable, value: Value) -> Value:
        with self._keeping:
            self._values[key] = value
            while len(self._values) > self.size:
                del self._values[next(iter(self._values))]  # the oldest (dicts keep order)
        return value

    def values(self) -> list[Value]:
        return list(self._values.values())

    def __len__(self) -> int:
        return len(self._values)
