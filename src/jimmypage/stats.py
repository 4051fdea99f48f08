"""Counters of what the cache did, cheap on the request path and shared by every process.

Each process counts in memory; a daemon thread adds the counts to the shared cache every
``JIMMY_PAGE_STATS_FLUSH_SECONDS`` (one call per counter that moved; 0 turns the thread off),
so a hit never pays a round trip for them. ``python manage.py jimmypage stats`` reads the
totals.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from . import backend, conf, log

COUNTERS = (
    "hit",
    "stale",
    "miss",
    "bypass",
    "refreshed",
    "refresh_failed",
    # The process-local tier (jimmypage.tier): hits served with no round trip (``hit`` counts
    # them too), invalidation messages received, invalidation streams lost.
    "local_hit",
    "invalidation",
    "stream_drop",
)

_counts: Counter = Counter()
_lock = threading.Lock()
_flusher_pid: int | None = None


def count(name: str) -> None:
    """Add one to the counter ``name`` in this process."""
    with _lock:
        _counts[name] += 1
    if _flusher_pid != os.getpid() and conf.get("JIMMY_PAGE_STATS_FLUSH_SECONDS"):
        _start_flusher()


def counter_key(name: str) -> str:
    return f"{conf.key_prefix()}:stats:{name}"


def flush() -> None:
    """Add this process's counts to the shared totals, and start counting from zero."""
    with _lock:
        moved = {name: number for name, number in _counts.items() if number}
        _counts.clear()
    for name, number in moved.items():
        if not _add_to_total(counter_key(name), number):
            with _lock:
                _counts[name] += number  # kept for the next flush


def _add_to_total(key: str, number: int) -> bool:
    """Add ``number`` to the shared total at ``key``; ``False`` when the cache failed."""
    cache = backend.store().cache
    try:
        if cache.add(key, number, None):
            return True
        try:
            cache.incr(key, number)
        except ValueError:  # evicted between add and incr: the total starts again
            cache.add(key, number, None)
    except Exception as exc:
        log.cache_error("incr", exc)
        return False
    return True


def totals() -> dict[str, int]:
    """The shared totals of every counter (this process's unflushed counts not included)."""
    keys = {counter_key(name): name for name in COUNTERS}
    found = backend.get_many(list(keys)) or {}
    return {name: int(found.get(key, 0)) for key, name in keys.items()}


def reset() -> None:
    """Set every shared total, and this process's counts, to zero."""
    with _lock:
        _counts.clear()
    for name in COUNTERS:
        backend.delete(counter_key(name))


def _start_flusher() -> None:
    global _flusher_pid
    with _lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
    threading.Thread(target=_flush_forever, name="jimmypage-stats", daemon=True).start()


def _flush_forever() -> None:
    pause = threading.Event()
    while not pause.wait(float(conf.get("JIMMY_PAGE_STATS_FLUSH_SECONDS") or 10)):
        flush()
