"""The process-local tier: fresh hits with no round trip at all.

Each process keeps hot pages (``local.Pages``) and the generation tokens they were stamped with
(``local.Tokens``). A hit that finds its page here, with every generation its stamp needs known
and trusted here and equal to the stamp's, is served without asking the shared cache. Anything
else takes the one-round-trip path, whose answer fills the tier again. The tier only ever
speeds up FRESH hits: a page that looks stale here is never served from here, the shared cache
decides (it may hold a refreshed page already). So pages need no invalidation; generations do.

On Redis (Django's ``RedisCache`` or django-redis, one server), Redis pushes every change of a
generation key to each process (``jimmypage.tracking``). The invariants:

1. A page is served from the tier as fresh only while the process holds a live invalidation
   stream that was subscribed before the generations it compares with were read, and that has
   caught up with the server within the last ``tracking.MAX_LAG`` seconds. (A token read in
   flight while an invalidation is processed is not kept: see ``local.Tokens.learn``.)
2. When the stream drops, stalls or cannot be started, the process forgets every generation at
   once and goes back to the one-round-trip path until a new stream is subscribed and the
   generations are read again; it reconnects in the background, never in a request.
3. A write, ``invalidate()``, an eviction or expiry of a generation key and a ``FLUSHDB`` reach
   every process's tier within a few milliseconds (``MAX_LAG`` at most, or local hits stop);
   the process that writes drops its own tokens at once (``generation_changed``).
4. Stale pages start their one refresh per page and generation through the shared cache's
   lock, exactly as without the tier.
5. A forked process (gunicorn ``--preload``, uWSGI) builds its own tier and stream on first
   use; it never touches a socket inherited from its parent.

Backends that cannot push (memcached, databases, files, several Redis servers) get the tier only
with ``JIMMY_PAGE_LOCAL_STALENESS_SECONDS``: tokens are then trusted for that long after they
were read, a weaker promise. ``JIMMY_PAGE_LOCAL_CACHE_BYTES = 0`` turns the tier off.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed
from django.http import HttpRequest

from . import (
    backend,
    conf,
    entries,
    generations,
    keys,
    log,
    sessions,
    signals,
    stats,
    tier_sources,
    tracking,
    users,
)
from .local import Needed, Pages, Record, TimedTokens, Tokens, unshared

LOCAL = "fresh, local"  # the reason of a hit served from the tier
_TIMEOUTS_MAX = 10_000


class Tier:
    def __init__(self, pages: Pages, tokens: Tokens, stream: tracking.Stream | None) -> None:
        self.pages = pages
        self.tokens = tokens
        self.stream = stream
        self.timeouts: dict[str, int | None] = {}  # of the middleware's copies, by key


# (process id, the tier or None when off), made on first use in each process.
_state: tuple[int, Tier | None] | None = None
_state_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child starts with no tier, and a lock no parent thread can be holding."""
    global _state, _state_lock
    _state, _state_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def current() -> Tier | None:
    """This process's tier, or ``None`` when it is off."""
    state = _state
    if state is not None and state[0] == os.getpid():
        return state[1]
    return _build()


def _build() -> Tier | None:
    global _state
    with _state_lock:
        if _state is None or _state[0] != os.getpid():
            # In a forked child, the parent's tier (and its socket) is left alone, never closed.
            try:
                made = _make()
            except Exception as exc:  # a cache the checks report: no tier, never an error
                log.rarely("tier", "jimmypage: no local tier: %s: %s", type(exc).__name__, exc)
                made = None
            _state = (os.getpid(), made)
        return _state[1]


def _make() -> Tier | None:
    kind, _ = tier_sources.source()
    if kind == tier_sources.OFF:
        return None
    pages = Pages(int(conf.get("JIMMY_PAGE_LOCAL_CACHE_BYTES")))
    prefix = generations.generation_key()
    if kind == tier_sources.TIMED:
        return Tier(pages, TimedTokens(prefix, float(tier_sources.staleness())), None)
    tokens = Tokens(prefix)
    cache = caches[conf.cache_alias()]
    client, _ = tier_sources.stream_client(cache)
    tracked = cache.make_key(prefix).encode()
    stream = tracking.Stream(tokens, tracking.connection_factory(client), tracked, prefix)
    return Tier(pages, tokens, stream.start())


def stop() -> None:
    """End this process's tier (its stream too); the next request builds it again."""
    global _state
    with _state_lock:
        state, _state = _state, None
    tier = state[1] if state is not None and state[0] == os.getpid() else None
    if tier is not None and tier.stream is not None:
        tier.stream.stop()


# Settings that change what the tier holds or where its stream listens.
_REBUILT_BY = frozenset(
    {
        "CACHES",
        "JIMMY_PAGE_CACHE_ALIAS",
        "JIMMY_PAGE_CACHE_PREFIX",
        "JIMMY_PAGE_LOCAL_CACHE_BYTES",
        "JIMMY_PAGE_LOCAL_STALENESS_SECONDS",
        "JIMMY_PAGE_MODE",
    }
)


def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting in _REBUILT_BY:
        stop()


setting_changed.connect(_settings_changed, dispatch_uid="jimmypage.tier")


def _drop_own(changed: list[str]) -> None:
    """This process changed the generations at ``changed``: drop its own tokens now, before
    Redis tells it."""
    state = _state
    if state is None or state[0] != os.getpid() or state[1] is None:
        return
    state[1].tokens.drop(changed)


def _own_change(tables=None, **kwargs: Any) -> None:
    if tables is None:
        _drop_own([generations.generation_key()])
    else:
        _drop_own([generations.table_key(table) for table in tables])


def _own_users_change(**kwargs: Any) -> None:
    _drop_own([users.generation_key()])


def _own_session_change(key: str, **kwargs: Any) -> None:
    _drop_own([key])


signals.generation_changed.connect(_own_change, dispatch_uid="jimmypage.tier")
users.changed.connect(_own_users_change, dispatch_uid="jimmypage.tier")
sessions.token_replaced.connect(_own_session_change, dispatch_uid="jimmypage.tier")


# -- the hit path ----------------------------------------------------------------------------


def fresh_page(base: str, request: HttpRequest) -> tuple | None:
    """The fresh entry of ``cache_page``'s page at ``base`` from this process, or ``None``."""
    tier = current()
    if tier is None or generations._bump_pending:
        return None
    record = tier.pages.get(base)
    if record is not None and entries.is_vary_marker(record.entry):
        record = tier.pages.get(keys.variant_key(base, request, record.entry[1]))
    if record is None or not tier.tokens.current(record.needed):
        return None
    return _served(record.entry)


def fresh_entry(key: str) -> tuple | None:
    """The fresh entry at ``key`` (``AnonymousHitMiddleware``'s copies), or ``None``."""
    record = _current_record(key)
    return None if record is None else _served(record.entry)


def _served(entry: tuple) -> tuple:
    """A local hit's ``entry``, counted."""
    stats.count("local_hit")
    return unshared(entry)


def fresh_signed_copy(key: str) -> tuple | None:
    """The page of ``SignedInHitMiddleware``'s copy at ``key`` if it is fresh and its session
    has not expired (by the wall clock, as Django tells), or ``None``."""
    record = _current_record(key)
    if record is None or record.entry[1] <= time.time():
        return None
    return _served(record.entry[0])


def _current_record(key: str) -> Record | None:
    """The tier's record at ``key`` when every token it needs is current here, or ``None``."""
    tier = current()
    if tier is None or generations._bump_pending:
        return None
    record = tier.pages.get(key)
    if record is None or not tier.tokens.current(record.needed):
        return None
    return record


def before_read() -> tuple[int, float] | None:
    """Taken before a remote read, so that its generations may be learnt (``keep_page``)."""
    tier = current()
    return None if tier is None else tier.tokens.ticket()


def _keeping(entry: tuple) -> tuple[Tier, Needed] | None:
    """This process's tier and the tokens ``entry``'s stamp needs; ``None`` when it is not kept."""
    tier = current()
    if tier is None:
        return None
    needed = generations.stamp_tokens(entries.stamp_of(entry))
    return None if needed is None else (tier, needed)


def keep_page(base: str, key: str, meta_names, entry: tuple, found: dict, seen, timeout) -> None:
    """Keep a page the remote read found fresh, and the generations read with it."""
    keeping = _keeping(entry)
    if keeping is None:
        return
    tier, needed = keeping
    tier.tokens.learn(found, seen)
    born = _born(entry)
    if key != base:
        tier.pages.put(base, entries.vary_marker(meta_names), (), timeout, born)
    tier.pages.put(key, unshared(entry), needed, timeout, born)


def keep_copy(key: str, entry: tuple, timeout: int | None) -> None:
    """Keep a copy that ``AnonymousHitMiddleware`` stored, and remember its timeout."""
    keeping = _keeping(entry)
    if keeping is None:
        return
    tier, needed = keeping
    if len(tier.timeouts) >= _TIMEOUTS_MAX:
        tier.timeouts.clear()
    tier.timeouts[key] = timeout
    tier.pages.put(key, unshared(entry), needed, timeout, _born(entry))


def keep_fresh_copy(key: str, entry: tuple, found: dict, seen) -> None:
    """Keep a copy the remote read found fresh (if its timeout is known here), and the
    generations read with it."""
    tier = current()
    if tier is None:
        return
    tier.tokens.learn(found, seen)
    if key in tier.timeouts:
        keep_copy(key, entry, tier.timeouts[key])


def keep_signed_copy(
    key: str, page: tuple, session: tuple[str, str], expires: float, found: dict, seen
) -> None:
    """Keep ``SignedInHitMiddleware``'s copy of ``page`` until ``expires`` (a Unix time), as
    fresh only while the session's token (``session``: its key and value) is unchanged; and the
    generations and token read with it.

    Only a tier kept current by a stream holds such copies: a session that ended in another
    process must end its copies here within the stream's lag, never after a staleness bound.
    """
    keeping = _keeping(page)
    if keeping is None or keeping[0].stream is None:
        return
    tier, needed = keeping
    tier.tokens.learn(found, seen)
    now = time.time()
    tier.pages.put(key, (unshared(page), expires), (*needed, session), expires - now, now)


def _born(entry: tuple) -> float:
    """When the entry's page was rendered (wall-clock time)."""
    return time.time() - entries.age_of(entry)


def status_label(status: str, reason: str) -> str:
    """The status header's value: ``hit-local`` for a local hit when debugging, else ``status``."""
    if reason is LOCAL and conf.debug():
        return "hit-local"
    return status


# -- for tests and tools ---------------------------------------------------------------------


def reset() -> None:
    """Forget every page and generation this process holds (the stream stays)."""
    tier = current()
    if tier is not None:
        tier.pages.clear()
        tier.tokens.forget()


def settle(timeout: float = 10.0) -> bool:
    """Wait until this process's stream is live and has processed every change made before
    the call (see ``Stream.settle``); ``False`` on timeout or when the tier has no stream."""
    tier = current()
    if tier is None or tier.stream is None:
        return False
    markers: list[str] = []

    def write(marker: str) -> bool:
        markers.append(marker)
        return backend.put(marker, 1, 10)

    heard = tier.stream.settle(write, timeout)
    for marker in markers:  # gone again: the cache holds what it held before the call
        backend.delete(marker)
    return heard
