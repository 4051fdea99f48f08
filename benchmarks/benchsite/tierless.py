"""The contenders "local tier off": jimmypage exactly as with JIMMY_PAGE_LOCAL_CACHE_BYTES = 0,
for some URLs of a process whose other URLs use the tier, so that both run side by side.

``JIMMY_PAGE_LOCAL_CACHE_BYTES`` is one setting per process; for the length of a request, this
makes ``jimmypage.tier.current()`` answer "off" in this process, which is what the setting does.
(Benchmark-only: it reaches into ``jimmypage.tier``; the servers run sync, one request at a time.)
"""

from __future__ import annotations

import contextlib
import functools
import os

from jimmypage import tier


@contextlib.contextmanager
def local_tier_off():
    saved = tier._state
    tier._state = (os.getpid(), None)
    try:
        yield
    finally:
        tier._state = saved


def tierless(view):
    """``view`` (decorated with jimmypage's ``cache_page``), always without the local tier."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with local_tier_off():
            return view(request, *args, **kwargs)

    return wrapper
