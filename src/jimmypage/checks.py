"""System checks for jimmypage's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from . import conf

_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "JIMMY_PAGE_CACHE_PREFIX": (str,),
    "JIMMY_PAGE_CACHE_SECONDS": (int,),
    "JIMMY_PAGE_DISABLED": (bool,),
    "JIMMY_PAGE_DEBUG_CACHE": (bool,),
    "JIMMY_PAGE_TASK_LOCK_EXPIRES": (int,),
    "JIMMY_PAGE_EXPIRATION_WHITELIST": (list, tuple, set, frozenset),
    "JIMMY_PAGE_CACHE_ALIAS": (str,),
    "JIMMY_PAGE_STATUS_HEADER": (str, type(None)),
    "JIMMY_PAGE_REFRESH_THREADS": (int,),
    "JIMMY_PAGE_REFRESH_QUEUE_SIZE": (int,),
    "JIMMY_PAGE_MODE": (str,),
    "JIMMY_PAGE_STATS_FLUSH_SECONDS": (int, float),
}
MODES = ("global", "per-table")


@register(Tags.caches)
def check_settings(app_configs=None, **kwargs):
    """Each setting has the right type and the cache alias exists."""
    errors = []
    for name, types in _EXPECTED_TYPES.items():
        value = conf.get(name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            errors.append(
                Error(
                    f"{name} must be {expected}, not {type(value).__name__}.",
                    id="jimmypage.E001",
                )
            )
    if conf.cache_alias() not in settings.CACHES:
        errors.append(
            Error(
                f"JIMMY_PAGE_CACHE_ALIAS is {conf.cache_alias()!r}, which is not in CACHES.",
                hint=f"Use one of: {', '.join(settings.CACHES)}.",
                id="jimmypage.E002",
            )
        )
    if isinstance(conf.get("JIMMY_PAGE_MODE"), str) and conf.get("JIMMY_PAGE_MODE") not in MODES:
        errors.append(
            Error(
                f"JIMMY_PAGE_MODE is {conf.get('JIMMY_PAGE_MODE')!r}.",
                hint=f"Use one of: {', '.join(MODES)}.",
                id="jimmypage.E004",
            )
        )
    for name in ("JIMMY_PAGE_REFRESH_THREADS", "JIMMY_PAGE_TASK_LOCK_EXPIRES"):
        value = conf.get(name)
        if isinstance(value, int) and value < 1:
            errors.append(Error(f"{name} must be at least 1.", id="jimmypage.E003"))
    return errors
