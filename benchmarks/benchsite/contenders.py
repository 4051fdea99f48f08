"""The contenders: one URL each in the same project, the same page behind every cached one.

This module is plain data (no Django import) so that the harness can read it without setting
Django up. ``urls.py`` maps each ``path`` to the view named ``view`` in ``views.py``.

To add a contender: write its view in
``views.py``, add a ``Contender`` here, and every figure, table and plot picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass

# The Redis key counting renders of contender KEY's page is RENDER_COUNTER_PREFIX + KEY.
RENDER_COUNTER_PREFIX = "bench:renders:"


@dataclass(frozen=True)
class Contender:
    key: str  # short name: URL name, render counter, result key
    label: str  # what the tables say
    path: str  # the URL path
    view: str  # the name of the view in benchsite.views
    caches_page: bool  # True when a hit answers without rendering the page
    shows_page: bool = True  # False for the floor, which returns "ok"


FLOOR = Contender("bare", 'bare view returning "ok" (the floor)', "/bare/", "bare", False, False)
UNCACHED = Contender("uncached", "the page, uncached", "/page/", "uncached", False)
DJANGO = Contender("django", "Django `cache_page`, RedisCache", "/django/", "django_cache", True)
CACHEOPS = Contender("cacheops", "django-cacheops `cached_view_as`", "/cacheops/", "cacheops", True)
CACHALOT = Contender("cachalot", "django-cachalot (query cache)", "/cachalot/", "cachalot", False)
JIMMYPAGE = Contender("jimmypage", "jimmypage, global mode", "/jimmypage/", "jimmypage", True)
# The same view, with jimmypage's AnonymousHitMiddleware answering cookieless visitors (the
# benchmark's clients send no cookies) before the rest of the stack.
JIMMYPAGE_EARLY = Contender(
    "jimmypage_early",
    "jimmypage + AnonymousHitMiddleware",
    "/jimmypage-early/",
    "jimmypage_early",
    True,
)
# Both again without the process-local tier (issue 11): what JIMMY_PAGE_LOCAL_CACHE_BYTES = 0
# gives, one round trip per hit; benchsite/tierless.py turns the tier off for these URLs only.
JIMMYPAGE_REMOTE = Contender(
    "jimmypage_remote",
    "jimmypage, local tier off",
    "/jimmypage-remote/",
    "jimmypage_remote",
    True,
)
JIMMYPAGE_EARLY_REMOTE = Contender(
    "jimmypage_early_remote",
    "jimmypage + AnonymousHitMiddleware, local tier off",
    "/jimmypage-early-remote/",
    "jimmypage_early_remote",
    True,
)
TIER_OFF_PATHS = frozenset({JIMMYPAGE_REMOTE.path, JIMMYPAGE_EARLY_REMOTE.path})
EARLY_PATHS = frozenset({JIMMYPAGE_EARLY.path, JIMMYPAGE_EARLY_REMOTE.path})
# Not here: jimmypage's per-table mode. JIMMY_PAGE_MODE is one setting per process, so section 6
# (harness/http_bench.measure_modes) runs it on a server of its own.

CONTENDERS: tuple[Contender, ...] = (
    FLOOR,
    UNCACHED,
    DJANGO,
    CACHEOPS,
    CACHALOT,
    JIMMYPAGE,
    JIMMYPAGE_EARLY,
    JIMMYPAGE_REMOTE,
    JIMMYPAGE_EARLY_REMOTE,
)
JIMMYPAGES: tuple[Contender, ...] = (
    JIMMYPAGE,
    JIMMYPAGE_EARLY,
    JIMMYPAGE_REMOTE,
    JIMMYPAGE_EARLY_REMOTE,
)
# Section 7, signed-in visitors: every request carries the session cookie of a signed-in user,
# and the page is that user's own (it shows who is signed in). Not in CONTENDERS: the other
# sections' clients send no cookies. Measured in the same rounds as REFERENCES, asked without
# a cookie: the anonymous hits they are compared with.
SIGNED_DJANGO = Contender(
    "signed_django",
    "signed in: Django `cache_page` + `vary_on_cookie`",
    "/signed/django/",
    "signed_django",
    True,
)
SIGNED_JIMMYPAGE = Contender(
    "signed_jimmypage", "signed in: jimmypage", "/signed/jimmypage/", "signed_jimmypage", True
)
SIGNED_EARLY = Contender(
    "signed_early",
    "signed in: jimmypage + SignedInHitMiddleware",
    "/signed/jimmypage-early/",
    "signed_early",
    True,
)
SIGNED_IN: tuple[Contender, ...] = (SIGNED_DJANGO, SIGNED_JIMMYPAGE, SIGNED_EARLY)
REFERENCES: tuple[Contender, ...] = (FLOOR, JIMMYPAGE, JIMMYPAGE_EARLY)
# The figures are given as ratios to these two.
BASELINE = DJANGO

BY_KEY = {contender.key: contender for contender in (*CONTENDERS, *SIGNED_IN)}
