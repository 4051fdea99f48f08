"""Renders read the primary database, so that no page is rendered from a lagging replica.

A write makes pages stale once it commits; the render that refreshes them must see that write.
A read replica that has not replayed it yet would give the old data, and the page would be
stored with the new generation: old, and marked fresh until some later write (a stuck-stale
page). So while jimmypage renders a page (a miss it is about to store, or a refresh), every
read the site's ``DATABASE_ROUTERS`` would send to a replica goes to the database they name for
writes instead. Everything else (hits, pages never stored, other views) is routed as the site
says.

``PrimaryWhileRendering`` is a router that jimmypage puts in front of the site's routers the
first time a render starts (again after ``DATABASE_ROUTERS`` changes); it answers only while a
render runs, from a context variable, so it follows a render into ``sync_to_async`` threads and
ignores every other thread. ``JIMMY_PAGE_RENDER_ON_PRIMARY = False`` turns it off (check
``jimmypage.W007`` then warns if the routers send reads elsewhere than writes).

Reads that name their database (``.using("replica")``, ``connections["replica"]``) are the
view's own choice and are not redirected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.signals import request_started
from django.db import router

from . import conf

# A render by cache_page (a miss it will store, a refresh): set when the render starts, cleared
# when its page is stored (a template response renders after the view returned).
_rendering: ContextVar[bool] = ContextVar("jimmypage_rendering", default=False)
# A whole refresh, the request's middleware included (``on_primary``).
_refreshing: ContextVar[bool] = ContextVar("jimmypage_refreshing", default=False)
_install_lock = threading.Lock()


class PrimaryWhileRendering:
    """Send a render's reads to the database the site's routers name for writes."""

    def db_for_read(self, model, **hints) -> str | None:
        if _rendering.get() or _refreshing.get():
            return router.db_for_write(model, **hints)
        return None


def enabled() -> bool:
    return bool(conf.get("JIMMY_PAGE_RENDER_ON_PRIMARY"))


def install() -> None:
    """Put ``PrimaryWhileRendering`` first in Django's router list, unless it is there."""
    routers = router.routers
    if routers and isinstance(routers[0], PrimaryWhileRendering):
        return
    with _install_lock:
        routers = router.routers
        if not routers or not isinstance(routers[0], PrimaryWhileRendering):
            routers.insert(0, PrimaryWhileRendering())


def pin() -> None:
    """From now on in this context, reads go to the primary: a render starts."""
    if enabled():
        install()
        _rendering.set(True)


def unpin() -> None:
    """The render's page is stored (or will not be): reads follow the site's routers again."""
    if _rendering.get():
        _rendering.set(False)


@contextmanager
def on_primary() -> Iterator[None]:
    """Inside the block, in this context, reads go to the primary (a refresh's whole render)."""
    if not enabled():
        yield
        return
    install()
    token = _refreshing.set(True)
    try:
        yield
    finally:
        _refreshing.reset(token)


def _unpin_at_request_start(**kwargs) -> None:
    # A page whose template never rendered (its render raised) never reached ``unpin``: the
    # next request of this thread must not inherit the pin.
    unpin()


request_started.connect(_unpin_at_request_start, dispatch_uid="jimmypage.replicas")
