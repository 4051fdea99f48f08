"""Counting the cache round trips that code makes.

With LocMemCache the tests use a subclass that records each call of the cache API; with Redis
they record the commands sent by redis-py, since jimmypage talks to Redis' client directly.
Both are reported in the cache API's terms: ``get_many``, ``get``, ``set`` (``add`` included),
``set_many``, ``delete``.
"""

import threading
from collections import Counter
from contextlib import contextmanager

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache

COUNTED = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "incr", "touch")
REDIS_COMMANDS = {
    "mget": "get_many",
    "get": "get",
    "set": "set",
    "mset": "set_many",
    "del": "delete",
}

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


CountingLocMemCache = type(
    "CountingLocMemCache", (LocMemCache,), {name: _counted(name) for name in COUNTED}
)


@contextmanager
def round_trips():
    """Yield a Counter that holds, once the block ends, the cache calls it made."""
    counted = Counter()
    if settings.TEST_CACHE == "redis":
        # Count the commands this process sends (the server's statistics would also count
        # other clients of the same Redis).
        import redis

        sent = []
        real_execute = redis.Redis.execute_command

        def execute_command(self, *args, **options):
            sent.append(str(args[0]).lower())
            return real_execute(self, *args, **options)

        redis.Redis.execute_command = execute_command
        try:
            yield counted
        finally:
            redis.Redis.execute_command = real_execute
        counted.update(REDIS_COMMANDS.get(command, command) for command in sent)
    else:
        calls.clear()
        yield counted
        counted.update("set" if name == "add" else name for name in calls)
