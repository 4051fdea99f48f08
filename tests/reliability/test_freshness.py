"""Freshness: a page served as fresh is never outdated, and a finished refresh makes it fresh
(property-based, with hypothesis).

Random interleavings of reads (several visitors, pages, hosts, languages, GET and HEAD), writes of
every kind, refreshes run by hand, evictions of any key at any time (the generation, the table
generations of per-table mode, refresh locks, page entries, any key at random) and writes or
evictions made in the middle of a refresh's render. After each read:

* a page served as ``hit`` (fresh) is exactly what the uncached view gives now: no write, no
  eviction ever makes an old page look fresh;
* a page whose refresh finished after the last write (and the last eviction) is served ``hit``;
* rollbacks and writes to whitelisted tables leave every page as fresh as it was.

The targeted tests below each show a way a page stayed outdated, found while writing these
tests and since fixed in the core: they stay as regression tests (see docs/reliability.md).
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory, override_settings
from django.urls import set_script_prefix
from hypothesis import given, settings
from hypothesis import strategies as st

from jimmypage import generations
from tests.testapp import reliability_views
from tests.testapp.models import Article, Author

from . import writes_more
from .support import (
    MODES,
    SETTINGS,
    STATUS,
    Timer,
    budget,
    cache_keys,
    early_answers,
    figure,
    mode_settings,
    reset_jimmypage_state,
    skip_signed_in_outside_the_primary_cell,
)
from .visitors import (
    HARMLESS,
    WRITES,
    ask_again,
    asks,
    identity_of,
    make_visitors,
    reset_data,
    send,
    write,
)

EXAMPLES = budget(ci=40, long=400)
STEPS = 100

VISITORS = ["anon-1", "cart-apple", "alice", "token-1"]
FRESHNESS_PAGES = [
    "/articles/",
    "/tags/",
    "/tagged/",
    "/static/",
    "/vary/",
    "/async/",
    "/template/",
]
EVICTIONS = ["generation", "table", "lock", "page", "any"]
MIDDLE = ["write", "evict generation", "evict table", "invalidate"]
VIEW_NAMES = ["articles", "tags", "tagged", "static", "vary", "async_articles", "template"]
# Every kind of write, a cart visitor's cart change included, and issue 15's (manual
# transactions, failing hooks, procedures, COPY: those the database has).
FRESHNESS_WRITES = list(WRITES) + writes_more.kinds()


def evict(kind: str, data) -> str | None:
    """Delete one key of the given kind from the cache; the key, or None if there was none."""
    keys = cache_keys()
    generation = generations.generation_key()
    candidates = {
        "generation": [key for key in keys if key == generation],
        "table": [key for key in keys if key.startswith(f"{generation}:")],
        "lock": [key for key in keys if ":lock:" in key],
        "page": [key for key in keys if ":page:" in key],
        "any": keys,
    }[kind]
    if not candidates:
        return None
    key = data.draw(st.sampled_from(sorted(candidates)), label=f"evict {kind}")
    caches["default"].delete(key)
    return key


class Middle:
    """An action armed to run once, in the middle of the next refresh's render."""

    def __init__(self) -> None:
        self.action = None
        self.fired = 0

    def arm(self, action) -> None:
        self.action = action

    def __call__(self, request) -> None:
        if self.action is None or threading.current_thread().name != "jimmypage-manual":
            return
        action, self.action = self.action, None
        action()
        self.fired += 1


class Tally:
    def __init__(self) -> None:
        self.reads = 0
        self.hits_checked = 0
        self.fresh_after_refresh = 0
        self.evictions = 0
        self.writes = 0
        self.middle = 0
        self.statuses: dict[str, int] = {}


def page_of(visitor, ask, raw) -> tuple:
    """What identifies one cached page: visitor class, request identity, Vary'd headers."""
    varied = (ask.accept, ask.flavour) if ask.path == "/vary/" else None
    return (visitor.cls, identity_of(raw.content), varied)


def run_freshness(manual_refreshes) -> Tally:
    visitors = make_visitors()
    tally = Tally()
    middle = Middle()
    for name in VIEW_NAMES:
        reliability_views.HOOKS[name] = middle
    writes_more.prepare()

    @settings(settings.get_profile("jimmypage-reliability"), max_examples=EXAMPLES)
    @given(data=st.data())
    def sequence(data):
        reset_data(visitors)
        reset_jimmypage_state()
        manual_refreshes.queue.clear()
        middle.action = None
        stale_since_change: set = set()  # pages served stale since the last change
        must_be_fresh: set = set()  # pages refreshed since the last change
        pages: list = []
        for _ in range(STEPS):
            roll = data.draw(st.integers(0, 99), label="action")
            if roll < 55:
                if not pages or data.draw(st.integers(0, 5), label="new page") == 0:
                    pages.append(
                        data.draw(
                            asks(
                                visitors=VISITORS,
                                paths=FRESHNESS_PAGES,
                                hosts=["testserver", "example.com"],
                                languages=[None, "fr"],
                            ),
                            label="page",
                        )
                    )
                ask = ask_again(data, pages, VISITORS)
                visitor = visitors[ask.visitor]
                raw = send(visitor, ask, method="GET", uncached=True)
                cached = send(visitor, ask)
                status = cached.get(STATUS)
                tally.reads += 1
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
                page = page_of(visitor, ask, raw)
                assert cached.status_code == 200
                if ask.method == "HEAD":
                    same = cached["X-Body-Digest"] == reliability_views.body_digest(raw.content)
                else:
                    same = cached.content == raw.content
                if status == "hit":
                    tally.hits_checked += 1
                    assert same, (
                        f"an outdated page was served as fresh: {ask}\n got: "
                        f"{cached.content!r}\n uncached now: {raw.content!r}"
                    )
                if page in must_be_fresh:
                    tally.fresh_after_refresh += 1
                    assert status == "hit" and same, (
                        f"refreshed after the last write, but served {status}: {ask}\n got: "
                        f"{cached.content!r}\n uncached now: {raw.content!r}"
                    )
                if status == "stale":
                    stale_since_change.add(page)
            elif roll < 66:
                kind = data.draw(st.sampled_from(FRESHNESS_WRITES), label="write")
                write(kind, data, visitors)
                tally.writes += 1
                if kind not in HARMLESS and kind not in writes_more.HARMLESS:
                    stale_since_change.clear()
                    must_be_fresh.clear()
            elif roll < 86:
                armed = middle.action is not None
                manual_refreshes.run()
                if armed and middle.action is None:  # it fired: a change during a render
                    tally.middle += 1
                    stale_since_change.clear()
                    must_be_fresh.clear()
                else:
                    must_be_fresh |= stale_since_change
                    stale_since_change.clear()
            elif roll < 95:
                kind = data.draw(st.sampled_from(EVICTIONS), label="evict")
                key = evict(kind, data)
                tally.evictions += key is not None
                if key is not None and ":lock:" not in key:
                    stale_since_change.clear()
                    must_be_fresh.clear()
            else:
                what = data.draw(st.sampled_from(MIDDLE), label="in the middle of a render")
                middle.arm(_middle_action(what, data))

    writes_more.between = manual_refreshes.run
    try:
        sequence()
    finally:
        reliability_views.HOOKS.clear()
        writes_more.between = None
    return tally


def _middle_action(what: str, data):
    if what == "write":
        title = data.draw(st.sampled_from(["mid", "render"]), label="title")
        return lambda: Article.objects.create(title=title, author=Author.objects.first())
    if what == "invalidate":
        import jimmypage

        return jimmypage.invalidate
    if what == "evict generation":
        return lambda: caches["default"].delete(generations.generation_key())

    def evict_tables():
        for key in cache_keys():
            if key.startswith(f"{generations.generation_key()}:"):
                caches["default"].delete(key)

    return evict_tables


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("local_tier")  # Redis cells: with the process-local tier
def test_no_outdated_page_is_ever_fresh_and_refreshes_finish_the_job(mode, manual_refreshes):
    skip_signed_in_outside_the_primary_cell(mode)
    timer = Timer()
    with override_settings(**mode_settings(mode)), early_answers() as early:
        tally = run_freshness(manual_refreshes)
    figure(
        f"freshness[{mode}]",
        reads=tally.reads,
        hits_checked_fresh=tally.hits_checked,
        fresh_after_refresh_checked=tally.fresh_after_refresh,
        writes=tally.writes,
        evictions=tally.evictions,
        changes_during_a_render=tally.middle,
        refreshes_run=manual_refreshes.ran,
        statuses=tally.statuses,
        outdated_served_fresh=0,
        answered_before_the_stack=early[0],
        seconds=timer.seconds,
    )
    assert tally.fresh_after_refresh > 0 and tally.evictions > 0 and tally.middle > 0
    assert early[0] > 0 or mode != "signed-in", "no signed-in page was answered early"


# Outdated pages found while writing the property test above, now fixed: regression tests.


@override_settings(**SETTINGS)
def test_a_cart_page_shows_the_cart_once_it_changed():
    client = Client()
    client.get("/put/apple/")
    assert b"cart='apple'" in client.get("/articles/").content
    client.get("/put/pear/")
    page = client.get("/articles/")
    assert b"cart='pear'" in page.content, f"{page[STATUS]}: {page.content!r}"


@override_settings(**SETTINGS)
def test_a_page_that_reads_request_language_code_is_refreshed(manual_refreshes):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    assert b"LANGUAGE_CODE=fr" in client.get("/language-code/").content
    Article.objects.create(title="new")
    assert client.get("/language-code/")[STATUS] == "stale"
    manual_refreshes.run()
    page = client.get("/language-code/")
    assert page[STATUS] == "hit", f"still {page[STATUS]} after its refresh"


def _wsgi_get(path: str, script_name: str) -> tuple[str, bytes]:
    """A GET through Django's real WSGI handler (which sets the script prefix, unlike the test
    client), as a server under a sub-path would send it."""
    environ = RequestFactory()._base_environ(PATH_INFO=path, SCRIPT_NAME=script_name)
    statuses = []
    try:
        body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(headers)))
    finally:
        set_script_prefix("/")  # the handler leaves it set in this thread, for later tests too
    return dict(statuses[0]).get(STATUS, ""), body


@override_settings(**SETTINGS)
def test_a_refreshed_page_keeps_the_script_prefix_in_its_links(manual_refreshes):
    status, body = _wsgi_get("/links/", "/blog")
    assert (status, b"link=/blog/articles/" in body) == ("miss", True), body
    Article.objects.create(title="new")
    assert _wsgi_get("/links/", "/blog")[0] == "stale"
    manual_refreshes.run()
    status, body = _wsgi_get("/links/", "/blog")
    assert status == "hit"
    assert b"link=/blog/articles/" in body, body
