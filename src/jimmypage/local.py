"""The process-local tier's memory: page entries (a bounded LRU) and the generations it trusts.

``Pages`` holds page entries as the shared cache returned them, each with the generation tokens
its stamp needs, in at most ``max_bytes`` (an estimate that errs high); the least recently used
entries leave first, and no entry outlives its own timeout.

``Tokens`` holds the generation tokens this process read from the shared cache, and until when
they may be trusted. Who keeps them trusted is decided by ``jimmypage.tier``: Redis's
invalidation stream (``jimmypage.tracking``) or, on backends that cannot push, a fixed staleness
bound. Three rules make a token read here as good as one read remotely:

* A token is learnt only from a read that began after the current stream went live and that no
  invalidation overtook: ``ticket()`` is taken before the remote read, ``learn()`` keeps what
  it read only if nothing was dropped or forgotten in between (the ``epoch`` is unchanged).
  An invalidation processed after ``learn()`` simply drops the token.
* ``current()`` answers only before ``trusted_until``; past it, every page goes to the remote
  path. The stream moves it forward each time it has caught up with the server.
* ``forget()`` drops every token at once (the stream died, the keyspace was flushed).
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .entries import is_page

Needed = tuple[tuple[str, str], ...]  # (generation key, token) pairs a stamp depends on

# Python's own overhead of a record: the tuples, the dict slot, the key, the attributes dict.
_RECORD_OVERHEAD = 1024


class Record(NamedTuple):
    entry: Any
    needed: Needed
    size: int
    expires_at: float | None  # time.monotonic()


def entry_size(key: str, entry: tuple) -> int:
    """What keeping ``entry`` costs in memory, estimated on the high side."""
    size = _RECORD_OVERHEAD + sys.getsizeof(key)
    for part in entry:
        size += _deep_size(part)
    return size


def _deep_size(value: Any) -> int:
    if isinstance(value, (tuple, list, set, frozenset)):
        return sys.getsizeof(value) + sum(_deep_size(item) for item in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(
            _deep_size(key) + _deep_size(item) for key, item in value.items()
        )
    return sys.getsizeof(value)


def unshared(entry: tuple) -> tuple:
    """``entry`` with its own copy of the attributes a page carries for the middleware (plain
    data, but dicts and lists a middleware may change in place): what the tier keeps, and what
    each local hit gets, is never an object another response holds. (A remote hit unpickles its
    own.) Nothing else in an entry can change: it is returned as it is."""
    attributes = entry[6] if is_page(entry) else None
    if not attributes:
        return entry
    return (*entry[:6], copy.deepcopy(attributes))


class Pages:
    """Page entries of this process, least recently used first out, in at most ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> Record | None:
        """The record at ``key``, made the most recently used; ``None`` if absent or expired."""
        record = self._records.get(key)
        if record is None:
            return None
        if record.expires_at is not None and record.expires_at <= time.monotonic():
            self.discard(key)
            return None
        with self._lock:
            if key in self._records:
                self._records.move_to_end(key)
        return record

    def put(self, key: str, entry: tuple, needed: Needed, timeout: int | None, born: float) -> None:
        """Keep ``entry`` (written at ``born``, wall-clock time) for at most ``timeout`` seconds.

        An entry larger than a quarter of the tier is not kept: it would push out many others.
        """
        size = entry_size(key, entry)
        if size * 4 > self.max_bytes:
            self.discard(key)
            return
        expires_at = None
        if timeout:
            expires_at = time.monotonic() + born + timeout - time.time()
        record = Record(entry, needed, size, expires_at)
        with self._lock:
            old = self._records.pop(key, None)
            if old is not None:
                self.used -= old.size
            self._records[key] = record
            self.used += size
            while self.used > self.max_bytes:
                _, evicted = self._records.popitem(last=False)
                self.used -= evicted.size

    def discard(self, key: str) -> None:
        with self._lock:
            old = self._records.pop(key, None)
            if old is not None:
                self.used -= old.size

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.used = 0


class Tokens:
    """Generation tokens known in this process; see the module's rules."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # every generation key starts with it
        self.known: dict[str, str] = {}
        self.trusted_until = 0.0  # time.monotonic(); nothing is trusted before the stream is up
        self.epoch = 0
        self.live = False
        self.wanted = False  # a page looked for its tokens here since the stream last checked
        self.nudge: Callable[[], None] | None = None  # asks the stream to catch up at once
        self._lock = threading.Lock()

    def current(self, needed: Needed) -> bool:
        """True when every token in ``needed`` is known, trusted, and equal to the known one.

        ``trusted_until`` is read before the tokens: a token seen after it was read was
        dropped by every invalidation the stream processed before that moment.
        """
        self.wanted = True
        if time.monotonic() >= self.trusted_until:
            if self.nudge is not None:
                self.nudge()  # the stream catches up now, for the next requests
            return False
        if not needed:
            return False
        known = self.known
        for key, token in needed:  # noqa: SIM110 (a loop: no generator on the hit path)
            if known.get(key) != token:
                return False
        return True

    def ticket(self) -> tuple[int, float] | None:
        """Taken before a remote read whose tokens may be learnt; ``None`` while not live."""
        if not self.live:
            return None
        return (self.epoch, time.monotonic())

    def learn(self, found: Mapping[str, Any], ticket: tuple[int, float] | None) -> None:
        """Keep the generation tokens of ``found``, if no change overtook the read since
        ``ticket``."""
        if ticket is None:
            return
        with self._lock:
            if ticket[0] != self.epoch or not self.live:
                return
            self._keep(found)

    def _keep(self, found: Mapping[str, Any]) -> None:
        prefix = self.prefix
        for key, value in found.items():
            if type(value) is str and key.startswith(prefix):
                self.known[key] = value

    def drop(self, keys: Iterable[str]) -> None:
        """The generations at ``keys`` changed: forget them, and refuse reads in flight."""
        with self._lock:
            self.epoch += 1
            for key in keys:
                self.known.pop(key, None)

    def forget(self) -> None:
        """Forget every token, and refuse every read in flight."""
        with self._lock:
            self.epoch += 1
            self.known = {}

    def go_live(self, live: bool) -> None:
        """The stream went live (or died): start from nothing either way."""
        with self._lock:
            self.live = live
            self.epoch += 1
            self.known = {}
            if not live:
                self.trusted_until = 0.0

    def trust_until(self, moment: float) -> None:
        """Trust the known tokens until ``moment`` (never moves back while live)."""
        if self.live and moment > self.trusted_until:
            self.trusted_until = moment


class TimedTokens(Tokens):
    """Tokens trusted for ``bound`` seconds after they were read: for backends that cannot push.

    The tokens known at any moment come from reads that began at most ``bound`` seconds
    earlier: when that time is up, the next read starts a new set.
    """

    def __init__(self, prefix: str, bound: float) -> None:
        super().__init__(prefix)
        self.bound = bound
        self.live = True

    def learn(self, found: Mapping[str, Any], ticket: tuple[int, float] | None) -> None:
        if ticket is None:
            return
        epoch, started = ticket
        with self._lock:
            if epoch != self.epoch:
                return
            if time.monotonic() >= self.trusted_until:
                self.epoch += 1  # reads that began before this one may not join the new set
                self.known = {}
                self.trusted_until = started + self.bound
            self._keep(found)
