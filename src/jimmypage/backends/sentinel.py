"""``RedisSentinelCache``: Django's ``RedisCache`` on the primary that Redis Sentinel names.

::

    CACHES = {
        "default": {
            "BACKEND": "jimmypage.backends.RedisSentinelCache",
            "LOCATION": ["sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"],
            "OPTIONS": {"service_name": "mymaster", "db": 0},
        }
    }

``LOCATION`` lists the sentinels (``host:port`` or ``redis://host:port``). ``OPTIONS`` takes
``service_name`` (default ``"mymaster"``), ``sentinel_kwargs`` (how to connect to the sentinels,
e.g. their password), and the connection options of ``RedisCache`` (``db``, ``password``,
``socket_timeout``...), which apply to the primary. Every read and write goes to the primary:
a replica may lag, and a generation read there could make a page look fresh after a newer
write. When Sentinel promotes a replica, the next connection finds the new primary; its first
use makes every page stale once (``failover.FailoverGuard``).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from .failover import FailoverGuard, parse_run_id
from .shared import addresses, identity, shared_client


class GuardedSentinelConnection(SentinelManagedConnection):
    """A connection to the primary that claims it (``FailoverGuard``) before its first use."""

    def __init__(self, **kwargs) -> None:
        self.guard: FailoverGuard | None = kwargs.pop("jimmypage_guard", None)
        super().__init__(**kwargs)

    if hasattr(SentinelManagedConnection, "on_connect_check_health"):  # redis-py >= 6

        def on_connect_check_health(self, check_health: bool = True) -> None:
            super().on_connect_check_health(check_health=check_health)
            self.claim()

    else:

        def on_connect(self) -> None:
            super().on_connect()
            self.claim()

    def claim(self) -> None:
        if self.guard is not None and self.connection_pool.is_master:
            self.guard.claim(self.run, parse_run_id(self.run("INFO", "server")))

    def run(self, *args):
        self.send_command(*args)
        return self.read_response()


class SentinelCacheClient(RedisCacheClient):
    """Django's Redis client, whose every call goes to the primary that Sentinel names."""

    def __init__(self, servers, service_name: str = "mymaster", sentinel_kwargs=None, **options):
        super().__init__(servers, **options)
        self._service_name = service_name
        self._sentinel_kwargs = sentinel_kwargs
        self.guard: FailoverGuard | None = None  # set by the cache: it knows the keys
        self.identity = ""

    def _make_primary(self):
        sentinel = Sentinel(addresses(self._servers, 26379), sentinel_kwargs=self._sentinel_kwargs)
        return sentinel.master_for(
            self._service_name,
            redis_class=self._client,
            connection_pool_class=SentinelConnectionPool,
            connection_class=GuardedSentinelConnection,
            jimmypage_guard=self.guard,
            **self._pool_options,
        )

    def get_client(self, key=None, *, write=False):
        return shared_client(self.identity, self._make_primary)


class RedisSentinelCache(RedisCache):
    """``RedisCache`` through Redis Sentinel: see the module's docstring."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = SentinelCacheClient

    @cached_property
    def _cache(self):
        client = self._class(self._servers, **self._options)
        serializer = client._serializer
        client.guard = FailoverGuard(self.make_key, serializer.dumps, serializer.loads)
        client.identity = identity(self, "sentinel")
        return client
