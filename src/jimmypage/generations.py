"""Generation tokens: what makes a stored page fresh or stale.

A generation is a random token, never a counter: an evicted or reset key must never make an old
page look fresh again, so a missing generation means "everything is stale". A page records the
generation read before its render began; it is fresh while that is still the current one.
"""

from __future__ import annotations

import secrets

from . import backend, conf


def generation_key() -> str:
    """The key of the global generation (any write makes every page stale)."""
    return f"{conf.key_prefix()}:gen"


def new_token() -> str:
    return secrets.token_hex(8)


def ensure(current: str | None) -> str | None:
    """The current generation, creating one if it is missing; ``None`` if the cache failed.

    ``add`` is atomic, so concurrent creators agree on one token.
    """
    if current is not None:
        return current
    key = generation_key()
    token = new_token()
    if backend.add(key, token, None):
        return token
    return backend.get(key)


def read() -> str | None:
    """The current generation (created if missing), or ``None`` if the cache failed."""
    return ensure(backend.get(generation_key()))


# Set when a write could not reach the cache: until a later bump succeeds, no page read from
# the cache may be taken as fresh, or a write made while the cache was away would be lost.
_bump_pending = False


def bump() -> str | None:
    """Make every stored page stale by replacing the generation; the new token, or ``None``."""
    global _bump_pending
    token = new_token()
    if backend.put(generation_key(), token, None):
        _bump_pending = False
        return token
    _bump_pending = True
    return None


def settle_pending(current: str | None) -> str | None:
    """The current generation, after replaying a bump that failed earlier in this process."""
    return bump() if _bump_pending else current
