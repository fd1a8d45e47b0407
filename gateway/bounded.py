"""Small caches with a fixed size, for the hot path: no LRU bookkeeping per hit."""

from __future__ import annotations


def put(cache: dict, key: object, value: object, size: int) -> None:
    """Remember key -> value, starting afresh when full (rare: an application with
    thousands of statement shapes or result layouts)."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
