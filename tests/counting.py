"""Cache backends that count the calls made on them: one call is one round trip."""

import threading

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

COUNTED = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "incr", "touch")

calls: list[str] = []
_inside = threading.local()


def _counted(name):
    def method(self, *args, **kwargs):
        # LocMemCache.get_many calls get() per key: count only the outermost call.
        if getattr(_inside, "depth", 0) == 0:
            calls.append(name)
        _inside.depth = getattr(_inside, "depth", 0) + 1
        try:
            return getattr(super(type(self), self), name)(*args, **kwargs)
        finally:
            _inside.depth -= 1

    method.__name__ = name
    return method


def _counting(base):
    return type(f"Counting{base.__name__}", (base,), {name: _counted(name) for name in COUNTED})


CountingLocMemCache = _counting(LocMemCache)
CountingRedisCache = _counting(RedisCache)
