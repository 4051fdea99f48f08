"""The cache that holds pages, generations and locks, with failures turned into misses.

The cache is never the source of truth: a backend that is down or raising must never reach the
visitor or the code that saved a model. Each helper here returns a neutral value on failure.

Django's ``RedisCache`` builds a new ``redis.Redis`` client object for every call, which costs
as much as the round trip itself. For it (and only when its methods are not overridden) the
store below keeps one client per thread and talks to it directly, with Django's own keys and
serializer, so what it stores is exactly what ``cache.get()`` would read.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache

from . import conf, log


class DjangoStore:
    """Any Django cache backend, through the cache API."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return self.cache.get_many(keys)

    def get(self, key: str) -> Any:
        return self.cache.get(key)

    def add(self, key: str, value: Any, timeout: int | None) -> bool:
        return self.cache.add(key, value, timeout)

    def delete(self, key: str) -> None:
        self.cache.delete(key)

    def put(self, key: str, value: Any, timeout: int | None) -> None:
        self.cache.set(key, value, timeout)

    def put_many(self, values: dict[str, Any], timeout: int | None) -> None:
        self.cache.set_many(values, timeout)


class RedisStore(DjangoStore):
    """Django's ``RedisCache`` with its client objects made once instead of once per call."""

    def __init__(self, cache: RedisCache) -> None:
        super().__init__(cache)
        backend = cache._cache
        # Reads go to the primary (the first LOCATION) too: a generation read from a lagging
        # replica could make a page look fresh after a newer write (docs/scaling.md).
        self.reader = backend.get_client(None, write=True)
        self.writer = backend.get_client(None, write=True)
        self.dumps = backend._serializer.dumps
        self.loads = backend._serializer.loads
        self.make_key = cache.make_key  # our keys are memcached-safe by construction

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        values = self.reader.mget([self.make_key(key) for key in keys])
        loads = self.loads
        pairs = zip(keys, values, strict=True)
        return {key: loads(value) for key, value in pairs if value is not None}

    def get(self, key: str) -> Any:
        value = self.reader.get(self.make_key(key))
        return None if value is None else self.loads(value)

    def put(self, key: str, value: Any, timeout: int | None) -> None:
        self.writer.set(self.make_key(key), self.dumps(value), ex=self._expiry(timeout))

    def put_many(self, values: dict[str, Any], timeout: int | None) -> None:
        if timeout is None:
            self.writer.mset({self.make_key(k): self.dumps(v) for k, v in values.items()})
            return
        pipeline = self.writer.pipeline(transaction=False)
        for key, value in values.items():
            pipeline.set(self.make_key(key), self.dumps(value), ex=self._expiry(timeout))
        pipeline.execute()

    def add(self, key: str, value: Any, timeout: int | None) -> bool:
        made = self.make_key(key)
        return bool(self.writer.set(made, self.dumps(value), ex=self._expiry(timeout), nx=True))

    def delete(self, key: str) -> None:
        self.writer.delete(self.make_key(key))

    def _expiry(self, timeout: int | None) -> int | None:
        return self.cache.get_backend_timeout(timeout)


_REDIS_API = ("get_many", "get", "set", "set_many", "add", "delete", "make_key", "get_client")


def _plain_redis_cache(cache: BaseCache) -> bool:
    """True for Django's RedisCache whose methods nobody overrode (then ours are equivalent)."""
    if not isinstance(cache, RedisCache):
        return False
    backend = cache._cache
    return (
        all(
            getattr(type(cache), name, None) is getattr(RedisCache, name, None)
            for name in _REDIS_API
        )
        and hasattr(backend, "get_client")
        and hasattr(backend, "_serializer")
    )


def store() -> DjangoStore:
    """The store of the configured cache (``JIMMY_PAGE_CACHE_ALIAS``) for this thread.

    Django hands out one cache object per thread; the store lives on it, and so is per thread
    too, and is made again when ``CACHES`` changes.
    """
    cache = caches[conf.cache_alias()]
    found = cache.__dict__.get("_jimmypage_store")
    if found is None:
        found = RedisStore(cache) if _plain_redis_cache(cache) else DjangoStore(cache)
        cache._jimmypage_store = found
    return found


def get_many(keys: list[str]) -> dict[str, Any] | None:
    """One round trip for ``keys``; ``None`` when the cache failed."""
    try:
        return store().get_many(keys)
    except Exception as exc:
        log.cache_error("get_many", exc)
        return None


def get(key: str) -> Any:
    """The value at ``key``; ``None`` when absent or when the cache failed."""
    try:
        return store().get(key)
    except Exception as exc:
        log.cache_error("get", exc)
        return None


def put(key: str, value: Any, timeout: int | None) -> bool:
    """Store ``value`` at ``key``; ``False`` when the cache failed."""
    try:
        store().put(key, value, timeout)
    except Exception as exc:
        log.cache_error("set", exc)
        return False
    return True


def put_many(values: dict[str, Any], timeout: int | None) -> bool:
    """Store several values in one round trip; ``False`` when the cache failed."""
    try:
        store().put_many(values, timeout)
    except Exception as exc:
        log.cache_error("set_many", exc)
        return False
    return True


def add(key: str, value: Any, timeout: int | None) -> bool:
    """Atomically store ``value`` unless ``key`` exists; ``False`` also when the cache failed."""
    try:
        return bool(store().add(key, value, timeout))
    except Exception as exc:
        log.cache_error("add", exc)
        return False


def delete(key: str) -> None:
    try:
        store().delete(key)
    except Exception as exc:
        log.cache_error("delete", exc)
