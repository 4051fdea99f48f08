"""Django cache backends for Redis deployments that Django's own ``RedisCache`` cannot reach.

* ``RedisSentinelCache``: a primary found through Redis Sentinel, followed across failovers.
* ``RedisClusterCache``: Redis Cluster, with jimmypage's keys of a site in one hash slot so that
  a hit stays one ``MGET``.

Both are Django's ``RedisCache`` (same serializer, same keys, same options for the connections),
with another client underneath. Both read and write the primary only, and make every page stale
once when the primary they reach is not the one that wrote last (``failover.FailoverGuard``): a
replica promoted by a failover may have lost the last generation change. See docs/scaling.md.
"""

from .cluster import RedisClusterCache
from .sentinel import RedisSentinelCache

__all__ = ["RedisClusterCache", "RedisSentinelCache"]
