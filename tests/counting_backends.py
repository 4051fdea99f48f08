"""The real cache backends, counting the calls of the cache API like ``CountingLocMemCache``.

``tests.settings`` picks one by ``JIMMYPAGE_TEST_CACHE``; each class is made only when it is
asked for, so that a backend's client library is needed only by the runs that use it. The
names keep the backend's own at their end (jimmypage recognises a ``DatabaseCache`` by it).
"""

from django.utils.module_loading import import_string

from tests.counting import COUNTED, _counted

BASES = {
    "CountingDjangoRedisCache": "django_redis.cache.RedisCache",
    "CountingPyMemcacheCache": "django.core.cache.backends.memcached.PyMemcacheCache",
    "CountingDatabaseCache": "django.core.cache.backends.db.DatabaseCache",
    "CountingFileBasedCache": "django.core.cache.backends.filebased.FileBasedCache",
}
FOR_TEST_CACHE = {
    "djredis": "CountingDjangoRedisCache",
    "memcached": "CountingPyMemcacheCache",
    "db": "CountingDatabaseCache",
    "file": "CountingFileBasedCache",
}


def counting(name: str, base: type) -> type:
    return type(name, (base,), {method: _counted(method) for method in COUNTED})


def __getattr__(name: str) -> type:
    if name not in BASES:
        raise AttributeError(name)
    made = globals()[name] = counting(name, import_string(BASES[name]))
    return made
