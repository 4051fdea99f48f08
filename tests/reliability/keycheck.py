"""A LocMemCache that checks every key it is given against memcached's rules.

Memcached accepts keys of at most 250 bytes of printable ASCII without spaces; Django's
``KEY_PREFIX:VERSION:`` prefix counts. An exception raised inside the cache would be swallowed
by jimmypage (a failing cache is a miss), so violations are recorded in ``VIOLATIONS`` for the
test to check, and every key seen in ``SEEN``.
"""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache

VIOLATIONS: list[str] = []
SEEN: set[str] = set()


def memcached_safe(key: str) -> bool:
    return len(key.encode()) < 250 and all(33 <= ord(char) <= 126 for char in key)


class KeyCheckingLocMemCache(LocMemCache):
    def validate_key(self, key: str) -> None:
        SEEN.add(key)
        if not memcached_safe(key):
            VIOLATIONS.append(key)
        super().validate_key(key)
