"""The freshness property (``test_freshness.py``): its steps, its oracle and its tally.

An example is a random history of reads, writes, refreshes run by hand, evictions and changes
made in the middle of a render, then a fixed ending (``Freshness.finish``) that drives every
check at least once whatever the history was: a refresh that must leave its page fresh, an
eviction and a change during a render. Every draw is made before the run is looked at (see
``replay.py``), so the same draws give the same run.
"""

from __future__ import annotations

import threading

from django.core.cache import caches
from hypothesis import given, settings
from hypothesis import strategies as st

import jimmypage
from jimmypage import generations
from tests.testapp import reliability_views
from tests.testapp.models import Article, Author

from . import writes_more
from .replay import INDEXES, choose
from .support import STATUS, cache_keys
from .visitors import (
    HARMLESS,
    WRITES,
    Ask,
    ask_again,
    asks,
    identity_of,
    make_visitors,
    reset_data,
    send,
    write,
)

STEPS = 100
VISITORS = ["anon-1", "cart-apple", "alice", "token-1"]
PAGES = ["/articles/", "/tags/", "/tagged/", "/static/", "/vary/", "/async/", "/template/"]
EVICTIONS = ["generation", "table", "lock", "page", "any"]
MIDDLE = ["write", "evict generation", "evict table", "invalidate"]
VIEW_NAMES = ["articles", "tags", "tagged", "static", "vary", "async_articles", "template"]
# Every kind of write, a cart visitor's cart change included, and issue 15's (manual
# transactions, failing hooks, procedures, COPY: those the database has).
FRESHNESS_WRITES = list(WRITES) + writes_more.kinds()
# The page every example ends with: it reads the articles, so an article write makes it stale.
PROBE = Ask(visitor="anon-1", path="/articles/")


class Tally:
    def __init__(self) -> None:
        self.reads = 0
        self.hits_checked = 0
        self.fresh_after_refresh = 0
        self.evictions = 0
        self.writes = 0
        self.middle = 0
        self.statuses: dict[str, int] = {}
        self.trace: list = []  # what each step did and found: two runs of the same draws agree


class Middle:
    """An action armed to run once, in the middle of the next refresh's render."""

    def __init__(self) -> None:
        self.action = None

    def arm(self, action) -> None:
        self.action = action

    def __call__(self, request) -> None:
        if self.action is None or threading.current_thread().name != "jimmypage-manual":
            return
        action, self.action = self.action, None
        action()


def page_of(visitor, ask, raw) -> tuple:
    """What identifies one cached page: visitor class, request identity, Vary'd headers."""
    varied = (ask.accept, ask.flavour) if ask.path == "/vary/" else None
    return (visitor.cls, identity_of(raw.content), varied)


class Freshness:
    """One example: the checks after each read, and what each step changes in them."""

    def __init__(self, visitors, tally: Tally, middle: Middle, refreshes) -> None:
        self.visitors, self.tally, self.middle, self.refreshes = visitors, tally, middle, refreshes
        self.stale_since_change: dict = {}  # page -> an Ask for it, served stale since a change
        self.must_be_fresh: dict = {}  # page -> an Ask for it, refreshed since the last change

    def read(self, ask) -> str:
        """Ask through the cache and check the answer against the uncached view; its status."""
        visitor = self.visitors[ask.visitor]
        raw = send(visitor, ask, method="GET", uncached=True)
        cached = send(visitor, ask)
        status = cached.get(STATUS)
        tally = self.tally
        tally.reads += 1
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        tally.trace.append((ask, status))
        assert cached.status_code == 200
        if ask.method == "HEAD":
            same = cached["X-Body-Digest"] == reliability_views.body_digest(raw.content)
        else:
            same = cached.content == raw.content
        evidence = f"{ask}\n got: {cached.content!r}\n uncached now: {raw.content!r}"
        if status == "hit":
            tally.hits_checked += 1
            assert same, f"an outdated page was served as fresh: {evidence}"
        page = page_of(visitor, ask, raw)
        if page in self.must_be_fresh:
            tally.fresh_after_refresh += 1
            assert status == "hit" and same, (
                f"refreshed after the last write, but served {status}: {evidence}"
            )
        if status == "stale":
            self.stale_since_change[page] = ask
        return status

    def changed(self) -> None:
        """Every page may be outdated now: none is known fresh."""
        self.stale_since_change.clear()
        self.must_be_fresh.clear()

    def write(self, kind: str, data) -> None:
        write(kind, data, self.visitors)
        self.tally.writes += 1
        if kind not in HARMLESS and kind not in writes_more.HARMLESS:
            self.changed()

    def run_refreshes(self) -> None:
        """Run every queued refresh: the pages served stale since the last change are fresh
        now, unless the armed change happened during one of the renders."""
        armed = self.middle.action is not None
        self.tally.trace.append(("refreshes run", self.refreshes.run()))
        if armed and self.middle.action is None:
            self.tally.middle += 1
            self.tally.trace.append("changed during a render")
            self.changed()
        else:
            self.must_be_fresh.update(self.stale_since_change)
            self.stale_since_change.clear()

    def evict(self, kind: str, index: int) -> None:
        """Delete the key of ``kind`` that the drawn ``index`` stands for, if there is one."""
        key = choose(index, sorted(evictable(kind)))
        self.tally.trace.append(("evict", kind, key))
        if key is None:
            return
        caches["default"].delete(key)
        self.tally.evictions += 1
        if ":lock:" not in key:
            self.changed()

    def finish(self, pages: list) -> None:
        """The fixed end of every example, whatever state the history left.

        The generation is evicted and an article written: ``PROBE`` and every page asked for so
        far are read, their refreshes run, and each that was stale must now be a ``hit``. Then
        a write in the middle of ``PROBE``'s render must leave it stale until the next refresh.
        """
        self.middle.action = None
        self.run_refreshes()
        self.read(PROBE)  # stored now, if it was not
        generations.read()  # the generation exists, whatever the history evicted
        self.evict("generation", 0)
        Article.objects.create(title="ending")
        self.changed()
        assert self.read(PROBE) == "stale", "a page older than the last write was not stale"
        for ask in pages:
            self.read(ask)
        self.run_refreshes()
        for ask in list(self.must_be_fresh.values()):
            self.read(ask)
        self.middle.arm(_middle_action("write", "ending"))
        Article.objects.create(title="last")
        self.changed()
        assert self.read(PROBE) == "stale"
        self.run_refreshes()  # renders PROBE, with a write in the middle
        assert self.middle.action is None, "the change armed for the render did not happen"
        assert self.read(PROBE) == "stale", "a page rendered during a write was taken as fresh"
        self.run_refreshes()
        assert self.read(PROBE) == "hit"


def evictable(kind: str) -> list[str]:
    """The keys of the cache of the given kind."""
    keys = cache_keys()
    generation = generations.generation_key()
    return {
        "generation": [key for key in keys if key == generation],
        "table": [key for key in keys if key.startswith(f"{generation}:")],
        "lock": [key for key in keys if ":lock:" in key],
        "page": [key for key in keys if ":page:" in key],
        "any": keys,
    }[kind]


def _middle_action(what: str, title: str):
    if what == "write":
        return lambda: Article.objects.create(title=title, author=Author.objects.first())
    if what == "invalidate":
        return jimmypage.invalidate
    if what == "evict generation":
        return lambda: caches["default"].delete(generations.generation_key())

    def evict_tables():
        for key in evictable("table"):
            caches["default"].delete(key)

    return evict_tables


def step(example: Freshness, data, pages: list) -> None:
    """One random step of the history."""
    roll = data.draw(st.integers(0, 99), label="action")
    if roll < 55:
        if not pages or data.draw(st.integers(0, 5), label="new page") == 0:
            new = asks(VISITORS, PAGES, hosts=["testserver", "example.com"], languages=[None, "fr"])
            pages.append(data.draw(new, label="page"))
        example.read(ask_again(data, pages, VISITORS))
    elif roll < 66:
        example.write(data.draw(st.sampled_from(FRESHNESS_WRITES), label="write"), data)
    elif roll < 86:
        example.run_refreshes()
    elif roll < 95:
        kind = data.draw(st.sampled_from(EVICTIONS), label="evict")
        example.evict(kind, data.draw(INDEXES, label="which key"))
    else:
        what = data.draw(st.sampled_from(MIDDLE), label="in the middle of a render")
        title = data.draw(st.sampled_from(["mid", "render"]), label="title")
        example.middle.arm(_middle_action(what, title))


def run_freshness(refreshes, replay, examples: int, **options) -> Tally:
    """Run the property for ``examples`` examples (``options``: more hypothesis settings)."""
    visitors = make_visitors()
    tally = Tally()
    middle = Middle()
    for name in VIEW_NAMES:
        reliability_views.HOOKS[name] = middle
    writes_more.prepare()
    profile = settings.get_profile("jimmypage-reliability")

    @settings(profile, max_examples=examples, **options)
    @given(data=st.data())
    def sequence(data):
        reset_data(visitors)
        replay.start()
        refreshes.queue.clear()
        middle.action = None
        example = Freshness(visitors, tally, middle, refreshes)
        pages: list = []
        for _ in range(STEPS):
            replay.tick()
            step(example, data, pages)
        example.finish(pages)

    writes_more.between = refreshes.run  # refreshes while a manual transaction is open
    try:
        sequence()
    finally:
        reliability_views.HOOKS.clear()
        writes_more.between = None
    return tally
