"""System checks for sites with database replicas or Redis replicas (docs/scaling.md).

* W007: ``JIMMY_PAGE_RENDER_ON_PRIMARY`` is off and ``DATABASE_ROUTERS`` send reads elsewhere
  than writes: a refresh that reads a lagging replica stores old data as fresh.
* W008: the page cache reads from Redis replicas (django-redis, or a ``RedisCache`` whose
  methods jimmypage cannot replace, with several ``LOCATION``s): a generation read from a
  lagging replica can make a page look fresh after a newer write.
"""

from __future__ import annotations

import re

from django.apps import apps
from django.conf import settings
from django.core.checks import Tags, Warning, register

from . import conf


def _models_read_elsewhere() -> list[str]:
    """Models whose reads the routers send to another database than their writes."""
    from django.db import router

    elsewhere = []
    for model in apps.get_models():
        try:
            if router.db_for_read(model) != router.db_for_write(model):
                elsewhere.append(model._meta.label)
        except Exception:  # a router that needs hints: it decides per query, not here
            continue
    return elsewhere


def _locations(options: dict) -> list[str]:
    location = options.get("LOCATION", "")
    servers = re.split("[;,]", location) if isinstance(location, str) else list(location)
    return [server for server in servers if server.strip()]


def _reads_replicas(alias: str, options: dict) -> bool:
    """True when jimmypage's reads through the cache ``alias`` may reach a Redis replica."""
    from django.core.cache import caches

    from .backend import _plain_redis_cache
    from .checks import _class_names

    if len(_locations(options)) < 2 or not isinstance(options.get("BACKEND"), str):
        return False
    names = _class_names(options["BACKEND"])
    if "RedisSentinelCache" in names or "RedisClusterCache" in names:
        return False  # these read the primary
    if "RedisCache" not in names:
        return False
    if options["BACKEND"].startswith("django_redis."):
        return True
    try:
        return not _plain_redis_cache(caches[alias])
    except Exception:  # an unusable cache is reported by Django's own checks
        return False


@register(Tags.caches, Tags.database)
def check_replicas(app_configs=None, **kwargs):
    """Warn where replicas could make a page look fresh after a newer write."""
    warnings = []
    if conf.get("JIMMY_PAGE_RENDER_ON_PRIMARY") is False and settings.DATABASE_ROUTERS:
        elsewhere = _models_read_elsewhere()
        if elsewhere:
            shown = ", ".join(elsewhere[:3]) + (", ..." if len(elsewhere) > 3 else "")
            warnings.append(
                Warning(
                    "JIMMY_PAGE_RENDER_ON_PRIMARY is False and DATABASE_ROUTERS send the reads "
                    f"of some models to another database than their writes ({shown}).",
                    hint="A refresh that starts right after a write and reads a replica that has "
                    "not replayed it stores the old page as fresh, until the next write. Leave "
                    "JIMMY_PAGE_RENDER_ON_PRIMARY at True unless your routers read your writes.",
                    id="jimmypage.W007",
                )
            )
    alias = conf.cache_alias()
    options = settings.CACHES.get(alias) if isinstance(alias, str) else None
    if isinstance(options, dict) and _reads_replicas(alias, options):
        warnings.append(
            Warning(
                f"The page cache {alias!r} reads from Redis replicas (several LOCATIONs).",
                hint="A generation read from a replica that lags can make a page look fresh "
                "after a newer write. Give jimmypage a cache alias with the primary only "
                "(JIMMY_PAGE_CACHE_ALIAS), Django's own RedisCache (whose reads jimmypage sends "
                "to the first LOCATION), or jimmypage.backends.RedisSentinelCache.",
                id="jimmypage.W008",
            )
        )
    return warnings
