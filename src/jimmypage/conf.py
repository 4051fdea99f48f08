"""Settings of jimmypage, read lazily from Django's settings with their defaults.

Every value is looked up on each access, so ``override_settings`` works in tests.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "JIMMY_PAGE_CACHE_PREFIX": "jimmypage",
    "JIMMY_PAGE_CACHE_SECONDS": 0,
    "JIMMY_PAGE_DISABLED": False,
    "JIMMY_PAGE_DEBUG_CACHE": False,
    "JIMMY_PAGE_TASK_LOCK_EXPIRES": 60 * 15,
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
}

# Characters memcached accepts in a key, kept short so the backend's own prefix still fits.
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


def get(name: str) -> Any:
    """The value of the setting ``name``, or its default when the project does not set it."""
    return getattr(settings, name, DEFAULTS[name])


def disabled() -> bool:
    return bool(get("JIMMY_PAGE_DISABLED"))


def debug() -> bool:
    return bool(get("JIMMY_PAGE_DEBUG_CACHE"))


def cache_alias() -> str:
    return get("JIMMY_PAGE_CACHE_ALIAS")


def status_header() -> str | None:
    return get("JIMMY_PAGE_STATUS_HEADER") or None


def lock_expires() -> int:
    return int(get("JIMMY_PAGE_TASK_LOCK_EXPIRES"))


def whitelist() -> frozenset[str]:
    return frozenset(get("JIMMY_PAGE_EXPIRATION_WHITELIST"))


def entry_timeout(timeout: int | None) -> int | None:
    """The cache timeout for a page: the decorator's, else the setting; 0 means never expire."""
    seconds = get("JIMMY_PAGE_CACHE_SECONDS") if timeout is None else timeout
    return None if not seconds else int(seconds)


def key_prefix() -> str:
    """The key prefix, made memcached-safe: an unsafe or long prefix is replaced by its hash."""
    prefix = str(get("JIMMY_PAGE_CACHE_PREFIX"))
    if _SAFE_PREFIX.fullmatch(prefix):
        return prefix
    return "jp" + hashlib.blake2b(prefix.encode(), digest_size=8).hexdigest()
