"""Generation tokens: what makes a stored page fresh or stale.

A generation is a random token, never a counter: an evicted or reset key must never make an old
page look fresh again, so a missing generation means "stale". A page records the generations
read before its render began (its stamp); it is fresh while they are all still current.

Two modes (``JIMMY_PAGE_MODE``):

* ``"global"``: one token; any write replaces it, so every page goes stale.
* ``"per-table"``: one token per table, plus the global one. A page's stamp holds the tokens of
  the tables its render read, so a write makes stale only the pages that read what it wrote.
  ``invalidate()`` and writes whose tables cannot be told replace the global token.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from django.apps import apps

from . import backend, conf, relations, signals, users
from .sql import EVERYTHING

Stamp = str | tuple  # global mode: token; per-table: (global token, ((table, token), ...))


def per_table() -> bool:
    return conf.get("JIMMY_PAGE_MODE") == "per-table"


def generation_key() -> str:
    """The key of the global generation."""
    return f"{conf.key_prefix()}:gen"


def table_key(table: str) -> str:
    """The key of one table's generation (hashed: table names may hold any character)."""
    return f"{conf.key_prefix()}:gen:{_table_digest(table)}"


@cache
def _table_digest(table: str) -> str:
    return hashlib.blake2b(table.encode(), digest_size=8).hexdigest()


@cache
def known_tables() -> frozenset[str]:
    """Every table of every installed model, many-to-many tables included."""
    return frozenset(model._meta.db_table for model in apps.get_models(include_auto_created=True))


def new_token() -> str:
    return secrets.token_hex(8)


def ensure(current: str | None) -> str | None:
    """The global generation, created if missing; ``None`` if the cache failed.

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
    """The global generation (created if missing), or ``None`` if the cache failed."""
    return ensure(settle_pending(backend.get(generation_key())))


# Set when a write could not reach the cache: until a later bump succeeds, no page read from
# the cache may be taken as fresh, or a write made while the cache was away would be lost.
_bump_pending = False


def bump() -> str | None:
    """Make every page stale by replacing the global generation; the new token, or ``None``."""
    global _bump_pending
    token = new_token()
    if backend.put(generation_key(), token, None):
        _bump_pending = False
        signals.generation_changed.send(None, tables=None)
        return token
    _bump_pending = True
    return None


def _retry_pending_at_exit() -> None:
    """A process that exits with a change still pending tries once more, and says so if it fails.

    (The change lives only in this process's memory: pages would otherwise stay fresh for good.)
    """
    if _bump_pending and bump() is None:
        logging.getLogger("jimmypage").error(
            "jimmypage: this process wrote to the database while the cache was unreachable, and "
            "exits before it could make pages stale: run `manage.py jimmypage invalidate` "
            "once the cache answers."
        )


atexit.register(_retry_pending_at_exit)


def settle_pending(current: str | None) -> str | None:
    """The global generation, after replaying a bump that failed earlier in this process."""
    return bump() if _bump_pending else current


def bump_tables(tables: Iterable[str]) -> None:
    """Make stale the pages that depend on ``tables`` (every page, in global mode).

    A table no model knows, or ``EVERYTHING``, makes every page stale: no page recorded it.
    """
    global _bump_pending
    # Users, groups, permissions or sessions changed: signed-in pages go stale (see users).
    given = frozenset(tables)
    tables, applied = users.apply_marks(given)
    if not applied:
        _bump_pending = True  # replayed as a global bump: the safe side
    if given and not tables:
        return
    tables = relations.expand(tables)  # a write through a view writes the tables it reads
    if not per_table() or EVERYTHING in tables or not tables <= known_tables():
        bump()
        return
    if backend.put_many({table_key(table): new_token() for table in tables}, None):
        signals.generation_changed.send(None, tables=tables)
    else:
        _bump_pending = True  # replayed as a global bump: the safe side


# Per-table mode: the table generation keys each page needed last time, so that a hit fetches
# them with the page in one round trip. Bounded; a page missing here costs one more round trip.
_hints: dict[str, tuple[str, ...]] = {}
_HINTS_MAX = 10_000


def hint(key: str) -> tuple[str, ...]:
    """The table generation keys the page at ``key`` needed when this process last saw it."""
    return _hints.get(key, ())


def remember(key: str, stamp: Stamp) -> None:
    """Remember which table generation keys the page at ``key`` (with ``stamp``) needs."""
    needed = needed_keys(stamp)
    if needed and _hints.get(key) != needed:
        if len(_hints) >= _HINTS_MAX:
            _hints.clear()
        _hints[key] = needed


def fetch_keys(hint: tuple[str, ...]) -> list[str]:
    """The generation keys to fetch along with a page: the global one and ``hint``."""
    return [generation_key(), *hint]


def needed_keys(stamp: Stamp) -> tuple[str, ...]:
    """The table generation keys that decide whether a page with ``stamp`` is fresh.

    (A signed-in user's page also needs the users generation, which ``users.fetch_keys``
    fetches with every such page.)
    """
    stamp = users.inner(stamp)
    if type(stamp) is tuple:
        return tuple(table_key(table) for table, _ in stamp[1])
    return ()


def stamp_tokens(stamp: Stamp) -> tuple[tuple[str, str], ...] | None:
    """The (generation key, token) pairs that are all current exactly when ``stamp`` is (see
    ``is_current``); ``None`` for a stamp that is never current in this mode."""
    if users.is_users_stamp(stamp):  # a signed-in user's page: the users generation too
        inner = stamp_tokens(users.inner(stamp))
        return None if inner is None else (*inner, (users.generation_key(), stamp[1]))
    if not per_table():
        return ((generation_key(), stamp),) if type(stamp) is str else None
    if type(stamp) is not tuple:
        return None
    return ((generation_key(), stamp[0]), *((table_key(t), token) for t, token in stamp[1]))


def is_fresh(
    stamp: Stamp, global_token: str | None, found: Mapping[str, str], fetched: Iterable[str]
) -> bool:
    """True when ``stamp`` is current, fetching the table generations not yet ``fetched``."""
    return is_current(stamp, global_token, with_needed(stamp, found, fetched))


def with_needed(stamp: Stamp, found: Mapping[str, str], fetched: Iterable[str]) -> Mapping:
    """``found``, plus the table generations ``stamp`` needs that were not yet ``fetched``."""
    missing = [key for key in needed_keys(stamp) if key not in fetched]
    if missing:
        found = {**found, **(backend.get_many(missing) or {})}
    return found


def fingerprint(stamp: Stamp, global_token: str | None, found: Mapping[str, str]) -> str | None:
    """What changes whenever a generation ``stamp`` depends on changes: a refresh lock's name.

    In per-table mode a write to one of the page's tables changes it even when the global
    token stays, so that a lost refresh is retried at the next write, not only when its lock
    expires.
    """
    generation = _tables_fingerprint(users.inner(stamp), global_token, found)
    return users.fingerprint(stamp, generation, found)


def _tables_fingerprint(stamp: Stamp, global_token: str | None, found: Mapping) -> str | None:
    needed = needed_keys(stamp)
    if not needed or global_token is None:
        return global_token
    tokens = "|".join(str(found.get(key)) for key in needed)
    return f"{global_token}:{hashlib.blake2b(tokens.encode(), digest_size=8).hexdigest()}"


def is_current(stamp: Stamp, global_token: str | None, found: Mapping[str, str]) -> bool:
    """True when every generation in ``stamp`` is still the current one (the users generation
    of a signed-in user's page included)."""
    if global_token is None or not users.is_current(stamp, found):
        return False
    stamp = users.inner(stamp)
    if not per_table():
        return stamp == global_token
    if type(stamp) is not tuple or stamp[0] != global_token:
        return False
    return all(found.get(table_key(table)) == token for table, token in stamp[1])


@dataclass(frozen=True, slots=True)
class Before:
    """The generations that were current before a render began."""

    global_token: str
    tables: Mapping[str, str] | None = None  # per-table mode only

    def stamp(self, tables_read: Iterable[str]) -> Stamp:
        """The stamp of a page whose render read ``tables_read``."""
        if self.tables is None:
            return self.global_token
        read = relations.expand(tables_read)  # a view stands for the tables it reads
        if EVERYTHING in read:  # it read what cannot be told: it depends on every table
            read = self.tables
        read = sorted(table for table in read if table in self.tables)
        return (self.global_token, tuple((table, self.tables[table]) for table in read))


def before_render(global_token: str | None) -> Before | None:
    """Read the generations a render will be stamped with; ``None`` if the cache failed.

    In per-table mode the render's tables are not known yet, so every table's token is read
    (one ``get_many``); a token read after the render could hide a write made during it.
    """
    token = ensure(global_token)
    if token is None:
        return None
    if not per_table():
        return Before(token)
    keys = {table_key(table): table for table in known_tables()}
    found = backend.get_many(list(keys))
    if found is None:
        return None
    missing = {key: new_token() for key in keys if key not in found}
    if missing and not backend.put_many(missing, None):
        return None
    current = {**found, **missing}
    return Before(token, {table: current[key] for key, table in keys.items()})
