"""Logging on the ``jimmypage`` logger: per-request decisions and rate-limited errors."""

from __future__ import annotations

import logging
import threading
import time

from . import conf

logger = logging.getLogger("jimmypage")

# A cache that is down fails on every request; one log line per interval is enough.
ERROR_INTERVAL = 60.0
_last_error_at: dict[str, float] = {}
_error_lock = threading.Lock()


def decision(status: str, reason: str, request) -> None:
    """Log what a decorated view did with a request, when ``JIMMY_PAGE_DEBUG_CACHE`` is on."""
    if conf.debug():
        logger.debug("%s %s %s (%s)", status, request.method, request.get_full_path(), reason)


def cache_error(action: str, exc: BaseException) -> None:
    """Log a failing cache operation, at most once per ``ERROR_INTERVAL`` for each action."""
    now = time.monotonic()
    with _error_lock:
        last = _last_error_at.get(action)
        if last is not None and now - last < ERROR_INTERVAL:
            return
        _last_error_at[action] = now
    logger.error(
        "jimmypage: cache %s failed, serving uncached: %s: %s",
        action,
        type(exc).__name__,
        exc,
        exc_info=conf.debug(),
    )
