"""Process-local caches for the lookups every request makes (host → organisation, API key).

Each is bounded (least recently used entries go first), and each entry expires
``LOOKUP_CACHE_SECONDS`` (default 5 s) after it was read from the database. A change saved
or deleted through the ORM clears the cache of the process that made it at once, and again
when its transaction commits; other processes and servers see the change when their entry
expires, so the staleness bound elsewhere is ``LOOKUP_CACHE_SECONDS``.

A lookup started before a clear never stores its (possibly old) result after it: ``put``
takes the generation read before the query and drops the value when a clear came between.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.db import transaction

DEFAULT_SECONDS = 5.0


def lookup_cache_seconds() -> float:
    return float(getattr(settings, "LOOKUP_CACHE_SECONDS", DEFAULT_SECONDS))


_every_cache: list[LookupCache] = []


def lookup_caches_clear() -> None:
    """Empty every lookup cache of this process (tests: rows rolled back with a test's
    transaction sent no signal, so their cached copies must not reach the next test)."""
    for lookup_cache in _every_cache:
        lookup_cache.clear()


class LookupCache:
    """A bounded, expiring, thread-safe map local to this process."""

    def __init__(self, *, max_entries: int):
        self.max_entries = max_entries
        self.generation = 0
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _every_cache.append(self)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Store ``value``, read from the database when ``self.generation`` was
        ``generation`` — unless a clear came since."""
        seconds = lookup_cache_seconds()
        if seconds <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._entries[key] = (time.monotonic() + seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def clear_now_and_on_commit(self, **_signal_kwargs) -> None:
        """A signal receiver: until the change commits, another connection can still read
        and cache the old row, so clear again once it has."""
        self.clear()
        transaction.on_commit(self.clear)
