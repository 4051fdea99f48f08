"""Budgets, figures and helpers shared by the reliability tests."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.conf import settings
from django.core.cache import caches

from jimmypage import cache as jimmypage_cache
from jimmypage import generations, refresh, tier
from tests.connections import close_thread_connections

LONG = bool(os.environ.get("JIMMYPAGE_LONG"))
STATUS = "X-Jimmy-Page"
URLCONF = "tests.testapp.reliability_views"

WHITELIST = [
    "django_session",
    "django_admin_log",
    "registration_registrationprofile",
    "auth_message",
    "auth_user",
    "testapp_hit",
]
SETTINGS = {
    "ROOT_URLCONF": URLCONF,
    "JIMMY_PAGE_STATUS_HEADER": STATUS,
    "JIMMY_PAGE_EXPIRATION_WHITELIST": WHITELIST,
}


# The modes the property suites run in: jimmypage's two, and global mode with
# SignedInHitMiddleware first in the stack (signed-in visitors answered from copies).
MODES = ["global", "per-table", "signed-in"]


def mode_settings(mode: str) -> dict:
    """The settings of one of ``MODES``, on top of ``SETTINGS``."""
    if mode != "signed-in":
        return {**SETTINGS, "JIMMY_PAGE_MODE": mode}
    middleware = ["jimmypage.signed_in.SignedInHitMiddleware", *settings.MIDDLEWARE]
    return {**SETTINGS, "JIMMY_PAGE_MODE": "global", "MIDDLEWARE": middleware}


def skip_signed_in_outside_the_primary_cell(mode: str) -> None:
    """The signed-in mode runs in the primary cells only: its own tests cover every backend."""
    if mode == "signed-in" and not primary_cell() and not os.environ.get("JIMMYPAGE_LONG"):
        pytest.skip("the signed-in mode runs in the SQLite + LocMemCache cells only")


@contextlib.contextmanager
def early_answers():
    """Count the pages SignedInHitMiddleware answered before the stack, in a one-item list."""
    from jimmypage import signals

    counted = [0]

    def count(sender, reason, **kwargs):
        if reason == "early signed-in":
            counted[0] += 1

    signals.page_hit.connect(count, weak=False)
    try:
        yield counted
    finally:
        signals.page_hit.disconnect(count)


FIGURES: dict[str, dict] = defaultdict(dict)


def figure(test: str, **values) -> None:
    """Record figures of ``test`` for the end-of-run summary and the optional report file."""
    FIGURES[test].update(values)


def primary_cell() -> bool:
    """True in the SQLite + LocMemCache cell of the ./runtests matrix (one per Python/Django
    pair, and ./runtests --quick): there the property tests run their full CI budget."""
    cell = (getattr(settings, "TEST_DB", "sqlite"), getattr(settings, "TEST_CACHE", "locmem"))
    return cell == ("sqlite", "locmem")


def scale() -> float:
    """How much of the CI budget this run spends: all of it in the primary cell, a quarter in
    the other cells of the matrix (the same properties, on the other backends);
    ``JIMMYPAGE_RELIABILITY_SCALE`` overrides."""
    forced = os.environ.get("JIMMYPAGE_RELIABILITY_SCALE")
    if forced:
        return float(forced)
    return 1.0 if primary_cell() else 0.25


def budget(ci: int, long: int) -> int:
    """``ci`` (scaled, see ``scale()``) or, with ``JIMMYPAGE_LONG=1``, ``long``."""
    return long if LONG else max(1, round(ci * scale()))


def server_tests_here() -> str | None:
    """Why the tests that start their own servers (gunicorn, PostgreSQL database, Redis) do not
    run in this cell of the ./runtests matrix, or ``None`` if they do.

    They use none of the cell's backends, so they run once per Python/Django pair: in the
    SQLite + LocMemCache cell (also ``./runtests --quick``). ``JIMMYPAGE_SERVER_TESTS=1`` runs
    them in any cell, ``=0`` in none.
    """
    forced = os.environ.get("JIMMYPAGE_SERVER_TESTS")
    if forced is not None:
        return None if forced == "1" else "JIMMYPAGE_SERVER_TESTS=0"
    if not primary_cell():
        return "runs in the sqlite/locmem cell of the matrix only (its own servers)"
    return None


def require(condition: bool, what: str) -> None:
    """Skip when ``what`` is missing, except under CI, where it fails the run."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI requires {what}")
    pytest.skip(f"{what} not available")


class ManualExecutor:
    """Refreshes queue here and run only when the test says so, each in a thread of its own
    (as in the real pool, with its own database connections), one after the other.
    """

    def __init__(self) -> None:
        self.queue: list[tuple] = []
        self.refuse = False
        self.ran = 0
        self.outcomes: Counter = Counter()  # what refresh.run returned: "stored", "failed"...

    def submit(self, job, *args) -> bool:
        if self.refuse:
            return False
        self.queue.append((job, args))
        return True

    def run(self, count: int | None = None) -> int:
        """Run the first ``count`` queued refreshes (all by default); how many ran."""
        jobs = self.queue if count is None else self.queue[:count]
        self.queue = [] if count is None else self.queue[count:]
        for job, args in jobs:
            errors: list[BaseException] = []

            def target(job=job, args=args, errors=errors):
                try:
                    self.outcomes[job(*args)] += 1
                except BaseException as exc:  # refresh.run never raises: report it if it does
                    errors.append(exc)
                finally:
                    close_thread_connections()

            thread = threading.Thread(target=target, name="jimmypage-manual")
            thread.start()
            thread.join(60)
            assert not thread.is_alive(), "a refresh ran for more than 60 s"
            if errors:
                raise errors[0]
        self.ran += len(jobs)
        return len(jobs)


def reset_jimmypage_state() -> None:
    """Forget what this process remembers between two examples of a property test."""
    caches["default"].clear()
    for module, name in ((jimmypage_cache, "_needed_keys"), (generations, "_hints")):
        remembered = getattr(module, name, None)  # per-table hints, wherever they live
        if remembered is not None:
            remembered.clear()
    generations._bump_pending = False
    refresh._tried_locks.clear()
    # Tokens restart with each example (replay.py): a page kept in this process's memory from
    # an earlier example could otherwise carry a token of this one.
    tier.reset()


def cache_keys() -> list[str]:
    """Every key of the default cache, as jimmypage names them (without Django's prefix)."""
    if settings.TEST_CACHE not in ("locmem", "redis"):
        # Evicting keys needs their list, which only these two backends give: the same
        # properties run against them in every cell of the matrix that has them.
        pytest.skip(
            f"lists the cache's keys: LocMemCache and Redis only, not {settings.TEST_CACHE}"
        )
    cache = caches["default"]
    if hasattr(cache, "_cache") and isinstance(cache._cache, dict):  # LocMemCache
        made = list(cache._cache.keys())
    else:  # RedisCache
        client = cache._cache.get_client(None)
        made = [key.decode() for key in client.keys(cache.make_key("*"))]
    prefix = cache.make_key("")
    return [key[len(prefix) :] for key in made if key.startswith(prefix)]


class Timer:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


@contextlib.contextmanager
def live_site(**options):
    """A ``LiveSite(**options)`` for the block, or a skip (a failure under CI) saying what is
    missing: gunicorn, redis-server or PostgreSQL, or this cell of the matrix."""
    reason = server_tests_here()
    if reason:
        pytest.skip(reason)
    from .servers import postgres_available, redis_server_binary

    require(importlib.util.find_spec("gunicorn") is not None, "gunicorn (the test extra)")
    require(redis_server_binary() is not None, "redis-server")
    require(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    from .site import LiveSite

    with LiveSite(**options) as live:
        yield live
