"""The cache that holds pages, generations and locks, with failures turned into misses.

The cache is never the source of truth: a backend that is down or raising must never reach the
visitor or the code that saved a model. Each helper here returns a neutral value on failure.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache, caches

from . import conf, log


def cache() -> BaseCache:
    """The configured cache (``JIMMY_PAGE_CACHE_ALIAS``), per thread as Django hands it out."""
    return caches[conf.cache_alias()]


def get_many(keys: list[str]) -> dict[str, Any] | None:
    """One round trip for ``keys``; ``None`` when the cache failed."""
    try:
        return cache().get_many(keys)
    except Exception as exc:
        log.cache_error("get_many", exc)
        return None


def get(key: str) -> Any:
    """The value at ``key``; ``None`` when absent or when the cache failed."""
    try:
        return cache().get(key)
    except Exception as exc:
        log.cache_error("get", exc)
        return None


def put(key: str, value: Any, timeout: int | None) -> bool:
    """Store ``value`` at ``key``; ``False`` when the cache failed."""
    try:
        cache().set(key, value, timeout)
    except Exception as exc:
        log.cache_error("set", exc)
        return False
    return True


def put_many(values: dict[str, Any], timeout: int | None) -> bool:
    """Store several values in one round trip; ``False`` when the cache failed."""
    try:
        cache().set_many(values, timeout)
    except Exception as exc:
        log.cache_error("set_many", exc)
        return False
    return True


def add(key: str, value: Any, timeout: int | None) -> bool:
    """Atomically store ``value`` unless ``key`` exists; ``False`` also when the cache failed."""
    try:
        return bool(cache().add(key, value, timeout))
    except Exception as exc:
        log.cache_error("add", exc)
        return False


def delete(key: str) -> None:
    try:
        cache().delete(key)
    except Exception as exc:
        log.cache_error("delete", exc)
