"""The contenders "local tier off": jimmypage exactly as with JIMMY_PAGE_LOCAL_CACHE_BYTES = 0,
for some URLs of a process whose other URLs use the tier, so that both run side by side.

``JIMMY_PAGE_LOCAL_CACHE_BYTES`` is one setting per process; for the length of a request, this
makes ``jimmypage.tier.current()`` answer "off" in the thread that serves it, which is what the
setting does. (Benchmark-only: it replaces ``jimmypage.tier.current``.)

Per thread, not per process: a refresh thread renders these views while the worker serves
another request. An earlier version swapped the process's tier out and back, and a refresh
that overlapped a request put back the swapped-out "off": the tier stayed off in that worker
for the rest of the run (the HTTP figures of the tier-on contenders of 2026-12-03).
"""

from __future__ import annotations

import contextlib
import functools
import threading

from jimmypage import tier

_off = threading.local()
_tier_current = tier.current


def _current_unless_off():
    return None if getattr(_off, "depth", 0) else _tier_current()


tier.current = _current_unless_off  # tier's functions look it up at each call


@contextlib.contextmanager
def local_tier_off():
    _off.depth = getattr(_off, "depth", 0) + 1
    try:
        yield
    finally:
        _off.depth -= 1


def tierless(view):
    """``view`` (decorated with jimmypage's ``cache_page``), always without the local tier."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with local_tier_off():
            return view(request, *args, **kwargs)

    return wrapper
