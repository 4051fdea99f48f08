"""Bans in a shared cache in front (Varnish) when generations change.

Every page stored while ``JIMMY_PAGE_PURGE_URLS`` is set carries a header
(``JIMMY_PAGE_PURGE_KEY_HEADER``, default ``xkey``) of space-separated keys: the site's key,
and in per-table mode one key per table the page depends on. When a generation changes
(``signals.generation_changed``, sent after the write committed and the generation was
replaced), the keys of what changed are banned at every URL: the site's key when every page is
stale, the tables' keys otherwise. The cache in front answers ``BAN`` requests whose
``X-Jimmy-Page-Ban`` header lists the keys separated by ``|`` (``docs/varnish/jimmypage.vcl``
bans the objects whose key header holds one of them).

Rules:

* The write never waits: the signal's receiver only adds keys to a set; one background thread
  per process sends them, one request per URL for everything that changed since its last
  request, after waiting ``BURST_WINDOW`` for the rest of a burst (the tables of one
  transaction change one after another).
* A cache that is down or refuses fails nothing: the failure is logged at most once a minute,
  and keys that did not reach a URL because it could not be reached are sent again later.
* A process that exits waits up to ``2 * TIMEOUT`` seconds for its queued bans to be sent.
* Each ban is sent a second time ``REPEAT_AFTER`` seconds later: a page the cache was fetching
  while the first ban arrived is stored after it, untouched by it; the second ban removes it.
"""

from __future__ import annotations

import atexit
import hashlib
import http.client
import os
import threading
import time
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from django.core.checks import Error
from django.http import HttpResponseBase

from . import conf, log, signals, users

BAN_HEADER = "X-Jimmy-Page-Ban"
TIMEOUT = 2.0  # seconds for one ban request
REPEAT_AFTER = 1.0
# How long the first change of a burst waits for the others: the tables of one transaction
# change one after another, in its on-commit hooks.
BURST_WINDOW = 0.005
RETRY_FIRST, RETRY_MAX = 0.5, 30.0


def urls() -> list[str]:
    return list(conf.get("JIMMY_PAGE_PURGE_URLS") or ())


def key_header() -> str:
    return conf.get("JIMMY_PAGE_PURGE_KEY_HEADER")


def setting_errors() -> list[Error]:
    """System check: every purge URL is an http(s) URL with a host."""
    chosen = conf.get("JIMMY_PAGE_PURGE_URLS")
    errors = []
    for url in chosen if isinstance(chosen, (list, tuple)) else ():
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(
                Error(
                    f"JIMMY_PAGE_PURGE_URLS holds {url!r}, which is not an http(s) URL.",
                    hint='e.g. ["http://127.0.0.1:6081/"], the address of each cache in front.',
                    id="jimmypage.E010",
                )
            )
    return errors


@cache
def _digest(text: str, size: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def site_key() -> str:
    """The key every page of this site carries (one per key prefix): letters and digits only."""
    return "jp" + _digest(conf.key_prefix(), 5)


def table_key(table: str) -> str:
    """The key of the pages that depend on ``table``."""
    return f"{site_key()}-{_digest(table, 6)}"


def page_keys(stamp) -> str:
    """The key header's value for a page stamped with ``stamp`` (see ``generations.Stamp``)."""
    keys = [site_key()]
    stamp = users.inner(stamp)  # a signed-in user's page: its tables are inside
    if type(stamp) is tuple:
        keys.extend(table_key(table) for table, _ in stamp[1])
    return " ".join(keys)


def tag(response: HttpResponseBase, stamp) -> None:
    """Name, on a page about to be stored, the keys that will ban it (when purging is on)."""
    if urls():
        response.headers[key_header()] = page_keys(stamp)


def on_generation_changed(sender, tables: frozenset[str] | None = None, **kwargs) -> None:
    """Queue the bans of the pages that a change of generations made stale."""
    targets = urls()
    if targets:
        keys = {site_key()} if tables is None else {table_key(table) for table in tables}
        _sender.add(targets, keys)


signals.generation_changed.connect(on_generation_changed, dispatch_uid="jimmypage.purge")


def send_ban(url: str, keys: Iterable[str]) -> bool:
    """Ask the cache at ``url`` to ban ``keys``; False when it could not be reached (retry)."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.request("BAN", parts.path or "/", headers={BAN_HEADER: "|".join(sorted(keys))})
        response = connection.getresponse()
        response.read()
    except OSError as error:
        log.rarely(f"purge {url}", "jimmypage: cannot ban at %s: %s", url, error)
        return False
    finally:
        connection.close()
    if response.status >= 500:
        log.rarely(f"purge {url}", "jimmypage: %s answered a ban with %s", url, response.status)
        return False
    if response.status >= 300:
        log.rarely(
            f"purge {url}",
            "jimmypage: %s refused a ban: %s %s",
            url,
            response.status,
            response.reason,
        )
    return True


class Sender:
    """One background thread that sends the queued bans, a burst at a time."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.first: dict[str, set[str]] = {}  # url -> keys not sent yet
        self.first_at = 0.0  # when the oldest of them was queued
        self.repeats: list[tuple[float, str, set[str]]] = []  # (when, url, keys) to send again
        self.busy = False
        self.thread: threading.Thread | None = None
        self.retry_pause = RETRY_FIRST
        self.closed = False

    def add(self, targets: Iterable[str], keys: set[str]) -> None:
        with self.condition:
            if not self.first:
                self.first_at = time.monotonic()
            for url in targets:
                self.first.setdefault(url, set()).update(keys)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="jimmypage-purge", daemon=True)
                self.thread.start()
            self.condition.notify()

    def idle(self, timeout: float) -> bool:
        """Wait until every first ban queued so far was sent (or failed); False on timeout."""
        with self.condition:
            return self.condition.wait_for(lambda: not self.first and not self.busy, timeout)

    def close(self) -> None:
        """Stop the thread once its current request is over; what is queued is dropped."""
        with self.condition:
            self.closed = True
            self.condition.notify_all()

    def run(self) -> None:
        while not self.closed:
            first, due = self.next_burst()
            failed: dict[str, set[str]] = {}
            for url in first.keys() | due.keys():
                keys = first.get(url, set()) | due.get(url, set())
                if not send_ban(url, keys):
                    failed[url] = first.get(url, set())
            self.finish(first, failed)

    def next_burst(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Wait for bans to send: those queued, and the repeats that are due."""
        with self.condition:
            while not self.closed:
                now = time.monotonic()
                due: dict[str, set[str]] = {}
                for when, url, keys in self.repeats:
                    if when <= now:
                        due.setdefault(url, set()).update(keys)
                burst_ends = self.first_at + BURST_WINDOW
                if self.first and now < burst_ends and not due:
                    self.condition.wait(burst_ends - now)
                    continue
                if self.first or due:
                    self.repeats = [item for item in self.repeats if item[0] > now]
                    first, self.first = self.first, {}
                    self.busy = True
                    return first, due
                wait = min((when for when, _, _ in self.repeats), default=now + 60) - now
                self.condition.wait(max(wait, 0.001))
            return {}, {}

    def finish(self, first: dict[str, set[str]], failed: dict[str, set[str]]) -> None:
        with self.condition:
            repeat_at = time.monotonic() + REPEAT_AFTER
            for url, keys in first.items():
                if url not in failed and keys:
                    self.repeats.append((repeat_at, url, keys))
            if failed and not self.first:
                self.first_at = time.monotonic()
            for url, keys in failed.items():
                self.first.setdefault(url, set()).update(keys)
            self.busy = False
            self.condition.notify_all()
            pause = self.retry_pause if failed else 0.0
            self.retry_pause = min(self.retry_pause * 2, RETRY_MAX) if failed else RETRY_FIRST
        if pause:
            time.sleep(pause)


_sender = Sender()


def wait_until_sent(timeout: float = 10.0) -> bool:
    """Wait until the bans queued in this process so far were sent; False on timeout."""
    return _sender.idle(timeout)


def _send_before_exit() -> None:
    # A process that wrote and exits at once (a management command, a script) still bans.
    _sender.idle(2 * TIMEOUT)


atexit.register(_send_before_exit)


def _forget_after_fork() -> None:
    # A child process has no sender thread and must not send its parent's bans again.
    global _sender
    _sender = Sender()


os.register_at_fork(after_in_child=_forget_after_fork)
