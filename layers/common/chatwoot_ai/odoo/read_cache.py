"""A short-TTL cache of frequent Odoo reads (product search, product details, stock) in a warm instance.

Keys carry the target (url, db, user) so two tenants, or one tenant before and after a config change, never share an
entry. Errors are never cached. Bounded: the least recently used entries go past `max_entries`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TtlCache:
    def __init__(self, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_load(self, key: Hashable, ttl_s: float, load: Callable[[], T]) -> T:
        if ttl_s <= 0:
            return load()
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]  # type: ignore[no-any-return]
            self.misses += 1
        value = load()
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


_cache = TtlCache()


def get_read_cache() -> TtlCache:
    return _cache
