"""Refreshing stale pages in the background, once per page and generation in the cluster.

A refresh never touches the live request. A ``Snapshot`` (``snapshots.py``) keeps the plain data
the site's stack reads to build the page; the refresh rebuilds a request from it and sends it
through the site's own middleware chain, URL resolution and every decorator of the view, as a
live request would go. The ``cache_page`` wrapper recognises the rebuilt request by its
``Ticket``, renders and stores the page with the generations it read before rendering.

A refresh changes nothing of the visitor's: the session it loads is never saved, and a request
with messages waiting for the visitor is not rendered at all (the render would consume them).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import PermissionDenied
from django.core.handlers.base import BaseHandler
from django.core.signals import setting_changed
from django.db import connections, transaction
from django.http import Http404, HttpRequest
from django.urls import get_script_prefix, get_urlconf, set_script_prefix, set_urlconf
from django.utils import timezone, translation

from . import backend, conf, entries, generations, keys, replicas, rules, signals, stats, users
from .executors import executor
from .snapshots import Snapshot

logger = logging.getLogger("jimmypage")

STORED, REMOVED, DEFERRED = "stored", "removed", "deferred"
__all__ = ["Snapshot", "Ticket", "is_refresh", "run", "start", "ticket_of"]


@dataclass
class Ticket:
    """Marks a rebuilt request as a refresh of the page at ``key``, and records the outcome."""

    key: str
    outcome: str | None = None
    error: BaseException | None = None  # what the view raised, if it did


def ticket_of(request: HttpRequest) -> Ticket | None:
    return getattr(request, "_jimmypage_ticket", None)


def is_refresh(request: HttpRequest) -> bool:
    """True for the request of a background refresh (for middleware that counts visits, say)."""
    return ticket_of(request) is not None


def admit(request: HttpRequest, ticket: Ticket) -> bool:
    """Prepare the refresh's request for the view; ``False`` if the view must not run at all.

    Called by ``cache_page`` once the middleware has run: the session the middleware loaded is
    made unsaveable, and messages waiting for the visitor leave the refresh for later (a live
    request with messages bypasses the cache, and a render would consume them).
    """
    session = getattr(request, "session", None)
    if session is not None:
        session.save = _never_saved
    if rules.has_messages(request):
        ticket.outcome = DEFERRED
        return False
    return True


def _never_saved(*args, **kwargs) -> None:
    """A refresh's session: the visitor's own, which the refresh must not change."""


def start(request: HttpRequest, key: str, generation: str | None) -> bool:
    """Start the one refresh of the page at ``key`` for ``generation``, unless one runs.

    ``cache.add`` is atomic in the shared cache, so one request in the whole cluster wins the
    lock; it expires after ``JIMMY_PAGE_TASK_LOCK_EXPIRES`` in case the refresh is lost.

    Inside a transaction (``ATOMIC_REQUESTS``), the lock is taken and the refresh handed to the
    executor when the transaction commits: a worker must see what the request committed, and a
    rolled-back request leaves no lock behind. ``True`` then means "planned".

    A page this process tried to refresh lately costs nothing more: while its refresh runs,
    every stale request of it comes here.
    """
    lock = keys.lock_key(key, generation)
    if _tried_locks.get(lock, 0.0) > time.monotonic():
        return False
    snapshot = Snapshot.of(request, key)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(partial(submit, snapshot, lock))
        return True
    return submit(snapshot, lock)


# Locks this process tried lately, until when: while a refresh runs, every stale request of its
# page would otherwise pay one more round trip for an ``add`` that fails. Bounded.
_tried_locks: dict[str, float] = {}
TRIED_LOCK_SECONDS = 1.0
_TRIED_LOCKS_MAX = 10_000


def _tried_lately(lock: str) -> bool:
    """True if this process tried ``lock`` within ``TRIED_LOCK_SECONDS``; else note a try now."""
    now = time.monotonic()
    if _tried_locks.get(lock, 0.0) > now:
        return True
    _note_tried(lock, now + TRIED_LOCK_SECONDS)
    return False


def _note_tried(lock: str, until: float) -> None:
    if len(_tried_locks) >= _TRIED_LOCKS_MAX:
        _tried_locks.clear()
    _tried_locks[lock] = until


def release(lock: str, failed: bool) -> None:
    """Free a refresh's lock; after a failure, only once ``JIMMY_PAGE_REFRESH_RETRY_SECONDS`` pass.

    A page whose render fails (its database is down, say) is then tried again once per pause in
    the whole cluster, not by each next stale request back to back. A write still opens a new
    generation, and so a new lock, at once.
    """
    pause = conf.retry_seconds() if failed else 0
    if pause > 0 and backend.put(lock, 1, pause):
        _note_tried(lock, time.monotonic() + pause)
        return
    backend.delete(lock)
    _tried_locks.pop(lock, None)  # in this process, the next stale request may try again


def submit(snapshot: Snapshot, lock: str) -> bool:
    """Take the lock and hand ``run(snapshot, lock)`` to the executor; ``False`` if not started."""
    if _tried_lately(lock) or not backend.add(lock, 1, conf.lock_expires()):
        return False
    try:
        submitted = executor().submit(run, snapshot, lock)
    except RuntimeError:  # the pool is shutting down with the interpreter
        submitted = False
    if submitted:
        return True
    release(lock, failed=False)
    logger.warning(
        "jimmypage: refresh queue full or unavailable, %s stays stale for now",
        snapshot.script_prefix + snapshot.path_info,
    )
    return False


def run(snapshot: Snapshot, lock: str) -> str:
    """Render the snapshotted page again and store it; always free the lock (see ``release``)."""
    started = time.monotonic()
    failed = False
    try:
        if _is_fresh(snapshot.key):
            return "already fresh"
        with replicas.on_primary():  # never rendered from a lagging replica
            outcome = render(snapshot)
    except Exception as exc:
        failed = True
        logger.exception(
            "jimmypage: refresh of %s failed; the stale page is kept", snapshot.path_info
        )
        stats.count("refresh_failed")
        signals.refresh_failed.send(None, path=snapshot.path_info, key=snapshot.key, exception=exc)
        return "failed"
    finally:
        release(lock, failed)
        connections.close_all()
    stats.count("refreshed")
    signals.page_refreshed.send(
        None,
        path=snapshot.path_info,
        key=snapshot.key,
        outcome=outcome,
        duration=time.monotonic() - started,
    )
    return outcome


def _is_fresh(key: str) -> bool:
    """True when another refresh already stored this page for the current generations."""
    generation_key = generations.generation_key()
    found = backend.get_many([key, generation_key, users.generation_key()]) or {}
    entry = found.get(key)
    if not entries.is_page(entry):
        return False
    stamp = entries.stamp_of(entry)
    return generations.is_fresh(stamp, found.get(generation_key), found, [generation_key])


def render(snapshot: Snapshot) -> str:
    """Send the rebuilt request through the site's stack; ``cache_page`` stores the page.

    What the view did decides: a stored page, or a removed one when the page is no longer
    cacheable for this key (it raised ``Http404``/``PermissionDenied``, or answers otherwise now).
    Any other exception of the view is raised here, and the stale page is kept. When the view was
    never reached, a middleware or decorator answered: a server error (5xx) keeps the stale page
    (raised as a failure), anything else (a redirect to the login page, a 404) removes it.
    """
    request = snapshot.build_request()
    ticket = Ticket(snapshot.key)
    request._jimmypage_ticket = ticket
    previous_urlconf, previous_prefix = get_urlconf(), get_script_prefix()
    # Django's handler sets the script prefix per request; reverse() in the view needs it.
    set_script_prefix(snapshot.script_prefix or "/")
    try:
        with translation.override(snapshot.language), timezone.override(snapshot.timezone):
            response = handler().get_response(request)
            response.close()
    finally:
        set_urlconf(previous_urlconf)
        set_script_prefix(previous_prefix)
    if ticket.error is not None:
        if isinstance(ticket.error, (Http404, PermissionDenied)):
            return _removed(snapshot)
        raise ticket.error
    if ticket.outcome is not None:
        return ticket.outcome
    if response.status_code >= 500:
        raise RuntimeError(f"the site answered {response.status_code} before the view ran")
    return _removed(snapshot)


def _removed(snapshot: Snapshot) -> str:
    backend.delete(snapshot.key)
    return REMOVED


# The site's middleware chain, loaded once per process as a server loads it, and again when
# the MIDDLEWARE setting changes (tests).
_handler: BaseHandler | None = None
_handler_lock = threading.Lock()


def handler() -> BaseHandler:
    """The handler whose middleware chain refreshes go through."""
    global _handler
    if _handler is None:
        with _handler_lock:
            if _handler is None:
                loaded = BaseHandler()
                loaded.load_middleware()
                _handler = loaded
    return _handler


def _forget_handler(setting: str, **kwargs) -> None:
    global _handler
    if setting == "MIDDLEWARE":
        _handler = None


setting_changed.connect(_forget_handler, dispatch_uid="jimmypage.refresh.handler")
