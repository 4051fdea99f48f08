"""``RedisClusterCache``: Django's ``RedisCache`` on Redis Cluster.

::

    CACHES = {
        "default": {
            "BACKEND": "jimmypage.backends.RedisClusterCache",
            "LOCATION": ["redis://node-1:6379", "redis://node-2:6379", "redis://node-3:6379"],
        }
    }

``LOCATION`` lists some nodes of the cluster (the client discovers the others); ``OPTIONS`` are
redis-py's ``RedisCluster`` options (``password``, ``socket_timeout``...).

A cluster refuses a multi-key command over keys of different hash slots, and a hit is one
``MGET`` of a page and its generations. So jimmypage's keys of a site carry one hash tag, the
key prefix (``:1:{jimmypage}:page:...``): they all live in one slot, on one primary, and a hit
stays one round trip. The price: that one primary (and its replicas) holds all of this site's
pages, while the site's other cache keys spread over the cluster as usual. A site whose pages
outgrow one node gives each part of the site its own ``JIMMY_PAGE_CACHE_PREFIX`` and cache alias.

Every read and write goes to the primary of the slot. When that primary changes (a failover, a
resharding), the client makes every page stale once before it serves a generation from the new
one (``failover.FailoverGuard``).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.cluster import ClusterNode, RedisCluster

from .. import conf
from .failover import FailoverGuard, parse_run_id, primary_key
from .shared import addresses, identity, shared_client

# Commands whose reply is read again when the slot's primary changed while they ran.
_READS = frozenset({"GET", "MGET"})


def tagged_key(key: str, key_prefix: str, version: int) -> str:
    """Django's key; jimmypage's keys get the hash tag ``{<JIMMY_PAGE_CACHE_PREFIX>}``."""
    prefix = conf.key_prefix()
    if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1] in ("", ":"):
        key = f"{{{prefix}}}{key[len(prefix) :]}"
    return f"{key_prefix}:{version}:{key}"


class GuardedRedisCluster(RedisCluster):
    """A cluster client that claims (``FailoverGuard``) each new primary of jimmypage's slot."""

    def __init__(self, *args, jimmypage_guard: FailoverGuard | None = None, **kwargs) -> None:
        self.guard = None  # the constructor runs commands (COMMAND): unguarded
        self.claimed_owner: str | None = None
        self._claiming = threading.local()
        self._slots: dict[str, int] = {}
        super().__init__(*args, **kwargs)
        self.guard = jimmypage_guard

    def execute_command(self, *args, **kwargs):
        if self.guard is None or getattr(self._claiming, "active", False):
            return super().execute_command(*args, **kwargs)
        self.claim_new_owner()
        reply = super().execute_command(*args, **kwargs)
        if self.claim_new_owner() and args[0] in _READS:
            # The reply came from a primary not yet claimed: it may hold a lost generation.
            reply = super().execute_command(*args, **kwargs)
        return reply

    def claim_new_owner(self) -> bool:
        """Claim the primary of jimmypage's slot if it changed; ``True`` if it did."""
        claimed_key = self.guard.make_key(primary_key())
        slot = self._slots.get(claimed_key)
        if slot is None:
            slot = self._slots[claimed_key] = self.keyslot(claimed_key)
        nodes = self.nodes_manager.slots_cache.get(slot)
        owner = nodes[0] if nodes else None
        if owner is None or owner.name == self.claimed_owner:
            return False
        self._claiming.active = True
        try:
            info = super().execute_command("INFO", "server", target_nodes=owner)
            self.guard.claim(super().execute_command, parse_run_id(info))
        finally:
            self._claiming.active = False
        self.claimed_owner = owner.name
        return True


class ClusterCacheClient(RedisCacheClient):
    """Django's Redis client on a cluster: multi-key calls are split by slot where needed."""

    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        self.guard: FailoverGuard | None = None  # set by the cache: it knows the keys
        self.identity = ""

    def _make_cluster(self) -> GuardedRedisCluster:
        options = {k: v for k, v in self._pool_options.items() if k != "parser_class"}
        nodes = [ClusterNode(host, port) for host, port in addresses(self._servers, 6379)]
        return GuardedRedisCluster(startup_nodes=nodes, jimmypage_guard=self.guard, **options)

    def get_client(self, key=None, *, write=False):
        return shared_client(self.identity, self._make_cluster)

    def get_many(self, keys):
        keys = list(keys)
        values = self.get_client(None).mget_nonatomic(keys)
        loads = self._serializer.loads
        return {
            key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None
        }

    def set_many(self, data, timeout):
        pipeline = self.get_client(None, write=True).pipeline()
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout)
        pipeline.execute()


class RedisClusterCache(RedisCache):
    """``RedisCache`` on Redis Cluster: see the module's docstring."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ClusterCacheClient
        if not params.get("KEY_FUNCTION"):
            self.key_func = tagged_key

    @cached_property
    def _cache(self):
        client = self._class(self._servers, **self._options)
        serializer = client._serializer
        client.guard = FailoverGuard(self.make_key, serializer.dumps, serializer.loads)
        client.identity = identity(self, "cluster")
        return client
