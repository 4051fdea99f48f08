"""System checks of the process-local tier (``jimmypage.tier``).

* E003: ``JIMMY_PAGE_LOCAL_CACHE_BYTES`` or ``JIMMY_PAGE_LOCAL_STALENESS_SECONDS`` below 0.
* W014: the tier trusts generations for a fixed time (``JIMMY_PAGE_LOCAL_STALENESS_SECONDS`` on
  a cache that cannot push invalidations): a page may be served as fresh that long after a
  write.
* I014: the tier is off because the cache cannot push invalidations and no staleness bound is
  set: every hit costs one round trip, as without the tier.

Nothing is said when the tier is kept current by Redis (the recommended setup), nor when the
cache is ``LocMemCache`` (already in the process) or the tier was turned off on purpose.
"""

from __future__ import annotations

from django.core.checks import Error, Info, Tags, Warning, register

from . import conf


@register(Tags.caches)
def check_local_tier(app_configs=None, **kwargs):
    """Say how the tier is kept current, when that is weaker than Redis's invalidations."""
    size = conf.get("JIMMY_PAGE_LOCAL_CACHE_BYTES")
    bound = conf.get("JIMMY_PAGE_LOCAL_STALENESS_SECONDS")
    errors = []
    if isinstance(size, int) and size < 0:
        errors.append(Error("JIMMY_PAGE_LOCAL_CACHE_BYTES must be 0 or more.", id="jimmypage.E003"))
    if isinstance(bound, (int, float)) and bound < 0:
        errors.append(
            Error("JIMMY_PAGE_LOCAL_STALENESS_SECONDS must be 0 or more.", id="jimmypage.E003")
        )
    if errors or not isinstance(size, int) or not isinstance(bound, (int, float, type(None))):
        return errors  # E001 reports a wrong type
    from . import tier_sources

    try:
        kind, why = tier_sources.source()
    except Exception:  # an unusable cache is reported by Django's own checks, or by E002
        return []
    if kind == tier_sources.TIMED:
        return [
            Warning(
                f"The process-local tier trusts generations for {bound} s ({why}).",
                hint="A page may be served as fresh up to that long after a write, in every "
                "process but the one that wrote. Use Redis on one server (Django's RedisCache "
                "or django-redis) for invalidations pushed within milliseconds, or keep the "
                "bound short.",
                id="jimmypage.W014",
            )
        ]
    if kind == tier_sources.OFF and size and not tier_sources.in_process_cache():
        return [
            Info(
                f"The process-local tier is off: {why}.",
                hint="Every hit costs one round trip to the cache. Use Redis on one server "
                "(Django's RedisCache or django-redis), or set "
                "JIMMY_PAGE_LOCAL_STALENESS_SECONDS to a short bound (a weaker promise: see "
                "the docs).",
                id="jimmypage.I014",
            )
        ]
    return []
