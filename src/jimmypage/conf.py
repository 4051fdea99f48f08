"""Settings of jimmypage, read lazily from Django's settings with their defaults.

Values are read on first use and kept until Django's ``setting_changed`` signal says a setting
changed (``override_settings`` sends it), so the request path pays a dict lookup per setting.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "JIMMY_PAGE_CACHE_PREFIX": "jimmypage",
    "JIMMY_PAGE_CACHE_SECONDS": 0,
    "JIMMY_PAGE_DISABLED": False,
    "JIMMY_PAGE_DEBUG_CACHE": False,
    "JIMMY_PAGE_TASK_LOCK_EXPIRES": 60 * 15,
    # Seconds a failed refresh keeps its lock, so a page whose render fails is retried at that
    # pace, not by every next stale request; 0 frees the lock at once.
    "JIMMY_PAGE_REFRESH_RETRY_SECONDS": 2,
    "JIMMY_PAGE_EXPIRATION_WHITELIST": [
        "django_session",
        "django_admin_log",
        "registration_registrationprofile",
        "auth_message",
        "auth_user",
    ],
    "JIMMY_PAGE_CACHE_ALIAS": "default",
    "JIMMY_PAGE_STATUS_HEADER": None,
    "JIMMY_PAGE_REFRESH_THREADS": 2,
    "JIMMY_PAGE_REFRESH_QUEUE_SIZE": 64,
    "JIMMY_PAGE_MODE": "global",
    "JIMMY_PAGE_STATS_FLUSH_SECONDS": 10,
    # Where refreshes run: "thread" (a pool in each web process), "tasks" (Django's Tasks
    # framework) or "celery".
    "JIMMY_PAGE_REFRESH_EXECUTOR": "thread",
    "JIMMY_PAGE_TASKS_BACKEND": "default",  # the alias in TASKS, for the "tasks" executor
    "JIMMY_PAGE_TASK_QUEUE": None,  # the queue of refresh tasks; None: the backend's default
    # Renders of pages to store read the database the routers name for writes, never a replica
    # that may lag behind the write that made the page stale (replicas.py).
    "JIMMY_PAGE_RENDER_ON_PRIMARY": True,
    # Cache-Control of shared pages for the caches downstream (docs/http-caching.md).
    "JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL": {"max-age": 0},
    # Caches in front (Varnish) that receive a BAN when pages go stale; [] = none.
    "JIMMY_PAGE_PURGE_URLS": [],
    "JIMMY_PAGE_PURGE_KEY_HEADER": "xkey",
    # The process-local tier (jimmypage.tier): its size in bytes per process (0 turns it off),
    # and, for backends that cannot push invalidations, how long it may trust a generation.
    "JIMMY_PAGE_LOCAL_CACHE_BYTES": 64 * 1024 * 1024,
    "JIMMY_PAGE_LOCAL_STALENESS_SECONDS": None,
}

EXECUTORS = ("thread", "tasks", "celery")

# Characters memcached accepts in a key, kept short so the backend's own prefix still fits.
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


_values: dict[str, Any] = {}


def get(name: str) -> Any:
    """The value of the setting ``name``, or its default when the project does not set it."""
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(settings, name, DEFAULTS[name])
        return value


def memo(name: str) -> dict:
    """A dict for values worked out from settings: emptied, like the values, when one changes."""
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = {}
        return value


def _forget(**kwargs) -> None:
    _values.clear()


setting_changed.connect(_forget, dispatch_uid="jimmypage.conf")


def disabled() -> bool:
    return bool(get("JIMMY_PAGE_DISABLED"))


def debug() -> bool:
    return bool(get("JIMMY_PAGE_DEBUG_CACHE"))


def cache_alias() -> str:
    return get("JIMMY_PAGE_CACHE_ALIAS")


def status_header() -> str | None:
    return get("JIMMY_PAGE_STATUS_HEADER") or None


def refresh_executor() -> str:
    return get("JIMMY_PAGE_REFRESH_EXECUTOR")


def lock_expires() -> int:
    return int(get("JIMMY_PAGE_TASK_LOCK_EXPIRES"))


def retry_seconds() -> int:
    return int(get("JIMMY_PAGE_REFRESH_RETRY_SECONDS"))


def whitelist() -> frozenset[str]:
    try:
        return _values[" whitelist"]
    except KeyError:
        value = _values[" whitelist"] = frozenset(get("JIMMY_PAGE_EXPIRATION_WHITELIST"))
        return value


def entry_timeout(timeout: int | None) -> int | None:
    """The cache timeout for a page: the decorator's, else the setting; 0 means never expire."""
    seconds = get("JIMMY_PAGE_CACHE_SECONDS") if timeout is None else timeout
    return None if not seconds else int(seconds)


def key_prefix() -> str:
    """The key prefix, made memcached-safe: an unsafe or long prefix is replaced by its hash."""
    try:
        return _values[" key prefix"]
    except KeyError:
        prefix = str(get("JIMMY_PAGE_CACHE_PREFIX"))
        if not _SAFE_PREFIX.fullmatch(prefix):
            prefix = "jp" + hashlib.blake2b(prefix.encode(), digest_size=8).hexdigest()
        _values[" key prefix"] = prefix
        return prefix
