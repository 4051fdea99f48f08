"""Logging on the ``jimmypage`` logger: per-request decisions and rate-limited errors."""

from __future__ import annotations

import logging
import threading
import time

from . import conf

logger = logging.getLogger("jimmypage")

ERROR_INTERVAL = 60.0
_last_error_at: dict[str, float] = {}
_error_lock = threading.Lock()


def decision(status: str, reason: str, request) -> None:
    """Log what a decorated view did with a request, when ``JIMMY_PAGE_DEBUG_CACHE`` is on."""
    if conf.debug():
        logger.debug("%s %s %s (%s)", status, request.method, request.get_full_path(), reason)


def rarely(topic: str, message: str, *args, exc_info: bool = False) -> None:
    """Log an error about ``topic`` at most once per ``ERROR_INTERVAL``.

    A cache or a queue that is down fails on every request; one line per interval is enough.
    """
    now = time.monotonic()
    with _error_lock:
        last = _last_error_at.get(topic)
        if last is not None and now - last < ERROR_INTERVAL:
            return
        _last_error_at[topic] = now
    logger.error(message, *args, exc_info=exc_info)


def cache_error(action: str, exc: BaseException) -> None:
    """Log a failing cache operation, at most once per ``ERROR_INTERVAL`` for each action."""
    rarely(
        f"cache {action}",
        "jimmypage: cache %s failed, serving uncached: %s: %s",
        action,
        type(exc).__name__,
        exc,
        exc_info=conf.debug(),
    )
