"""What keeps the process-local tier current, for a configuration: a stream, a time, or nothing.

``STREAM``: one Redis server (Django's ``RedisCache`` or django-redis's default client) pushes
every change of a generation key (``jimmypage.tracking``). ``TIMED``: a backend that cannot push,
with ``JIMMY_PAGE_LOCAL_STALENESS_SECONDS`` set. ``OFF``: anything else, or a tier of 0 bytes.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

from . import backend, conf, generations

STREAM, TIMED, OFF = "stream", "timed", "off"


def staleness() -> float:
    return conf.get("JIMMY_PAGE_LOCAL_STALENESS_SECONDS") or 0


def source() -> tuple[str, str]:
    """What keeps the tier current with this configuration (``STREAM``, ``TIMED`` or ``OFF``),
    and why, in words for the system check."""
    if not conf.get("JIMMY_PAGE_LOCAL_CACHE_BYTES"):
        return OFF, "JIMMY_PAGE_LOCAL_CACHE_BYTES is 0"
    cache = caches[conf.cache_alias()]
    if in_process_cache():
        return OFF, f"the cache is a {type(cache).__name__}, already in this process"
    why = _why_no_stream(cache)
    if why is None:
        return STREAM, "Redis pushes every change of a generation to each process"
    if staleness():
        return TIMED, why
    return OFF, why


def in_process_cache() -> bool:
    """True when the cache lives in this process already (a tier would only copy it)."""
    return isinstance(caches[conf.cache_alias()], (LocMemCache, DummyCache))


def _why_no_stream(cache) -> str | None:
    """Why the cache cannot push generation changes to the tier; ``None`` when it can."""
    return stream_client(cache)[1]


def stream_client(cache) -> tuple[Any, str | None]:
    """The redis-py client of the server that answers this process's reads of generations, for
    the stream to listen to; or ``None`` and why not.

    Django's ``RedisCache`` and django-redis's (its ``DefaultClient``), on one server: with
    replicas, a read may come from a server the stream does not follow.
    """
    if backend._plain_redis_cache(cache):
        if len(cache._servers) != 1:
            return None, "the cache reads from several Redis servers; the stream follows one"
        client = backend.store().reader
    elif _django_redis(cache):
        location = cache._server  # django-redis's LOCATION: a list, or comma-separated
        servers = location.split(",") if isinstance(location, str) else list(location)
        if len(servers) != 1:
            return None, "the cache reads from several Redis servers; the stream follows one"
        from django_redis import get_redis_connection

        client = get_redis_connection(conf.cache_alias(), write=False)
    else:
        return None, f"the cache is a {type(cache).__name__}, which cannot push invalidations"
    prefix = generations.generation_key()
    made = cache.make_key(prefix)
    if any(cache.make_key(prefix + tail) != made + tail for tail in (":t", "u")):
        return None, "the cache's KEY_FUNCTION does not keep jimmypage's key prefixes"
    return client, None


def _django_redis(cache) -> bool:
    """True for django-redis's cache with its default client (one server or a list)."""
    try:
        from django_redis.cache import RedisCache
        from django_redis.client import DefaultClient
    except ImportError:
        return False
    return isinstance(cache, RedisCache) and type(cache.client) is DefaultClient
