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
# The same calls with the thread that made each: round_trips() counts its own thread's only.
calls_by_thread: list[tuple[int, str]] = []
_inside = threading.local()


def _counted(name):
    def method(self, *args, **kwargs):
        # LocMemCache.get_many calls get() per key: count only the outermost call.
        if getattr(_inside, "depth", 0) == 0:
            calls.append(name)
            calls_by_thread.append((threading.get_ident(), name))
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
def round_trips(all_threads: bool = False):
    """Yield a Counter that holds, once the block ends, the cache calls the block made in this
    thread: a request's own round trips, not those of a daemon thread that happened to write
    meanwhile (the stats flusher a test started, a refresh of an earlier request). With
    ``all_threads``, those of every thread (a refresh the block started and waited for)."""
    counted = Counter()
    here = None if all_threads else threading.get_ident()
    if settings.TEST_CACHE == "redis":
        # Count the commands this process sends (the server's statistics would also count
        # other clients of the same Redis).
        import redis

        sent = []
        real_execute = redis.Redis.execute_command

        def execute_command(self, *args, **options):
            if here in (None, threading.get_ident()):
                sent.append(str(args[0]).lower())
            return real_execute(self, *args, **options)

        redis.Redis.execute_command = execute_command
        try:
            yield counted
        finally:
            redis.Redis.execute_command = real_execute
        counted.update(REDIS_COMMANDS.get(command, command) for command in sent)
    else:
        calls_by_thread.clear()
        yield counted
        mine = [name for thread, name in calls_by_thread if here in (None, thread)]
        counted.update("set" if name == "add" else name for name in mine)
