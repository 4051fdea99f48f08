"""Refreshing stale pages in the background, once per page and generation in the cluster.

A refresh never touches the live request. ``Snapshot`` keeps the plain data that decide the page
(scheme, host, path, query, the Vary'd headers, language, time zone, urlconf, visitor), and the
refresh rebuilds a request from it, resolves its URL and calls the view, through every decorator
on it. The ``cache_page`` wrapper recognises the rebuilt request by its ``Ticket``, renders and
stores the page with the generation it read before rendering.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from dataclasses import dataclass
from functools import partial
from importlib import import_module

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections, transaction
from django.http import Http404, HttpRequest
from django.urls import get_script_prefix, get_urlconf, resolve, set_script_prefix, set_urlconf
from django.utils import timezone, translation

from . import backend, conf, entries, generations, keys, signals, stats, users
from .executors import executor

logger = logging.getLogger("jimmypage")

STORED, REMOVED = "stored", "removed"


@dataclass
class Ticket:
    """Marks a rebuilt request as a refresh of the page at ``key``, and records the outcome."""

    key: str
    outcome: str | None = None


def ticket_of(request: HttpRequest) -> Ticket | None:
    return getattr(request, "_jimmypage_ticket", None)


@dataclass(frozen=True)
class Snapshot:
    """The plain data a refresh needs to render a page again, in any thread or process."""

    key: str
    scheme: str
    host: str
    script_prefix: str
    path_info: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    language: str | None
    timezone: str
    urlconf: str | None
    session_key: str | None
    user_pk: str | None

    def to_data(self) -> dict:
        """The snapshot as JSON-compatible data, for a task queue."""
        data = dataclasses.asdict(self)
        data["headers"] = [list(pair) for pair in self.headers]
        return data

    @classmethod
    def from_data(cls, data: dict) -> Snapshot:
        """The snapshot that ``to_data`` turned into ``data``."""
        return cls(**{**data, "headers": tuple(tuple(pair) for pair in data["headers"])})

    @classmethod
    def of(cls, request: HttpRequest, key: str, meta_names: tuple[str, ...]) -> Snapshot:
        """What decides the page ``request`` asked for, stored under ``key``."""
        names = set(meta_names) | {"HTTP_AUTHORIZATION"}
        meta = request.META
        headers = tuple((name, meta[name]) for name in sorted(names) if name in meta)
        path, path_info = request.path, request.path_info
        script_prefix = path[: len(path) - len(path_info)] if path.endswith(path_info) else ""
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        urlconf = getattr(request, "urlconf", None)
        logged_in = user is not None and user.is_authenticated
        # The shared anonymous page is rebuilt without anybody's session, so no visitor's
        # session data can reach it.
        shares_nothing = session is not None and (logged_in or not session.is_empty())
        return cls(
            key=key,
            scheme=request.scheme,
            host=request.get_host(),
            script_prefix=script_prefix,
            path_info=path_info,
            query_string=keys.query_string(request),
            headers=headers,
            language=translation.get_language(),
            timezone=timezone.get_current_timezone_name(),
            urlconf=urlconf if isinstance(urlconf, str) else None,
            session_key=session.session_key if shares_nothing else None,
            user_pk=str(user.pk) if logged_in else None,
        )

    def build_request(self) -> HttpRequest:
        """A new GET request equal to the snapshotted one in everything that keys the page."""
        host, _, port = self.host.partition(":")
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": _to_wsgi(self.script_prefix),
            "PATH_INFO": _to_wsgi(self.path_info),
            "QUERY_STRING": self.query_string,
            "SERVER_NAME": host,
            "SERVER_PORT": port or ("443" if self.scheme == "https" else "80"),
            "HTTP_HOST": self.host,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(b""),
        }
        environ.update(self.headers)
        if self.session_key:
            environ["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={self.session_key}"
        request = WSGIRequest(environ)
        if self.language:
            request.LANGUAGE_CODE = self.language  # as LocaleMiddleware sets it
        if self.urlconf:
            request.urlconf = self.urlconf
        _attach_visitor(request, self)
        return request


def _to_wsgi(text: str) -> str:
    """WSGI carries paths as bytes decoded as latin-1."""
    return text.encode().decode("iso-8859-1")


def _attach_visitor(request: HttpRequest, snapshot: Snapshot) -> None:
    """Give the rebuilt request the session and user that the middleware gave the live one."""
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(snapshot.session_key)
    if not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth import get_user, get_user_model
    from django.contrib.auth.models import AnonymousUser

    user = get_user(request) if snapshot.session_key else AnonymousUser()
    if snapshot.user_pk is not None and not user.is_authenticated:
        # Authenticated without a session (a custom middleware): load the user by key.
        model = get_user_model()
        user = model._default_manager.filter(pk=snapshot.user_pk, is_active=True).first()
        user = user or AnonymousUser()
    request.user = user

    async def auser():
        return user

    request.auser = auser


def start(request: HttpRequest, key: str, generation: str | None, meta_names) -> bool:
    """Start the one refresh of the page at ``key`` for ``generation``, unless one runs.

    ``cache.add`` is atomic in the shared cache, so one request in the whole cluster wins the
    lock; it expires after ``JIMMY_PAGE_TASK_LOCK_EXPIRES`` in case the refresh is lost.

    Inside a transaction (``ATOMIC_REQUESTS``), the lock is taken and the refresh handed to the
    executor when the transaction commits: a worker must see what the request committed, and a
    rolled-back request leaves no lock behind. ``True`` then means "planned".
    """
    snapshot = Snapshot.of(request, key, meta_names)
    lock = keys.lock_key(key, generation)
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
        try:
            outcome = render(snapshot)
        except (Http404, PermissionDenied):
            backend.delete(snapshot.key)
            outcome = REMOVED
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
    tables_stamp = users.inner(stamp)
    fresh = generations.is_fresh(tables_stamp, found.get(generation_key), found, [generation_key])
    return fresh and users.is_current(stamp, found)


def render(snapshot: Snapshot) -> str:
    """Call the view for the rebuilt request; the ``cache_page`` wrapper stores the page."""
    request = snapshot.build_request()
    ticket = Ticket(snapshot.key)
    request._jimmypage_ticket = ticket
    previous_urlconf, previous_prefix = get_urlconf(), get_script_prefix()
    set_urlconf(snapshot.urlconf)
    # Django's handler sets the script prefix per request; reverse() in the view needs it.
    set_script_prefix(snapshot.script_prefix or "/")
    try:
        with translation.override(snapshot.language), timezone.override(snapshot.timezone):
            match = resolve(request.path_info, snapshot.urlconf)
            request.resolver_match = match
            if iscoroutinefunction(match.func):
                async_to_sync(match.func)(request, *match.args, **match.kwargs)
            else:
                match.func(request, *match.args, **match.kwargs)
    finally:
        set_urlconf(previous_urlconf)
        set_script_prefix(previous_prefix)
    if ticket.outcome is None:
        # Another decorator (a login check, a redirect) answered before cache_page was reached.
        backend.delete(snapshot.key)
        return REMOVED
    return ticket.outcome
