"""Connections, uids and field lists kept across invocations of a warm function.

One slot per target (url, db, username, protocol, a digest of the key): a few idle connections (keep-alive sockets),
the uid from the one `authenticate`, and the field names of each model we read. A new key or URL is a new slot, so a
config change never reuses the old login; the least recently used slots are dropped past `max_targets`.
Thread-safe: the local runner calls one handler from many threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from chatwoot_ai.odoo.transport import Connection, OdooTarget, SharedState, open_connection

SlotKey = tuple[str, str, str, str, str]


class _Slot:
    def __init__(self) -> None:
        self.shared = SharedState()
        self.idle: list[Connection] = []


def slot_key(target: OdooTarget) -> SlotKey:
    digest = hashlib.sha256(target.api_key.encode()).hexdigest()[:16]
    return (target.protocol, target.url.rstrip("/"), target.db, target.username, digest)


class ConnectionPool:
    def __init__(self, max_idle_per_target: int = 4, max_targets: int = 64) -> None:
        self.max_idle_per_target = max_idle_per_target
        self.max_targets = max_targets
        self._slots: OrderedDict[SlotKey, _Slot] = OrderedDict()
        self._lock = threading.Lock()
        self.opened = 0  # connections ever opened: what reuse saves

    def _slot(self, target: OdooTarget) -> _Slot:
        key = slot_key(target)
        dropped: list[_Slot] = []
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                while len(self._slots) > self.max_targets:
                    dropped.append(self._slots.popitem(last=False)[1])
            else:
                self._slots.move_to_end(key)
        for old in dropped:
            for conn in old.idle:
                conn.close()
        return slot

    def shared(self, target: OdooTarget) -> SharedState:
        return self._slot(target).shared

    @contextmanager
    def lease(self, target: OdooTarget) -> Iterator[Connection]:
        """An idle connection of this target, or a new one; back to the pool afterwards unless it broke."""
        slot = self._slot(target)
        with self._lock:
            conn = slot.idle.pop() if slot.idle else None
        if conn is None:
            conn = open_connection(target, slot.shared)
            with self._lock:
                self.opened += 1
        try:
            yield conn
        finally:
            keep = not conn.broken
            if keep:
                with self._lock:
                    keep = len(slot.idle) < self.max_idle_per_target
                    if keep:
                        slot.idle.append(conn)
            if not keep:
                conn.close()

    def clear(self) -> None:
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            for conn in slot.idle:
                conn.close()


_pool = ConnectionPool()


def get_pool() -> ConnectionPool:
    """The process-wide pool (module state survives between invocations of a warm Lambda)."""
    return _pool
