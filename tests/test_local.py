"""The tier's memory (``jimmypage.local``) on its own, and the tier on a cache that cannot push
(a fixed staleness bound), and the system checks that say which applies. No Redis needed."""

import time

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.checks import Error, Info, Warning
from django.test import Client, override_settings

from jimmypage import tier, tier_sources
from jimmypage.local import Pages, TimedTokens, Tokens, _deep_size, unshared
from jimmypage.local_checks import check_local_tier
from tests.testapp.models import Article

STATUS = "X-Jimmy-Page"


def entry(body: bytes, born: float | None = None) -> tuple:
    return ("p2", 200, (("Content-Type", "text/html"),), body, "token", born or time.time(), {})


# -- Pages -----------------------------------------------------------------------------------


def test_least_recently_used_pages_leave_first():
    size = Pages(10**9)
    size.put("probe", entry(b"x" * 1000), (), None, time.time())
    one = size.used
    pages = Pages(one * 8 + 10)
    for key in "abcdefgh":
        pages.put(key, entry(b"x" * 1000), (), None, time.time())
    assert pages.get("a") is not None  # a is now the most recently used
    pages.put("i", entry(b"x" * 1000), (), None, time.time())
    assert pages.get("b") is None and set("acdefghi") == set(pages._records)
    assert pages.used <= pages.max_bytes


def test_the_size_estimate_errs_high_and_replacing_keeps_the_count():
    pages = Pages(10**9)
    kept = entry(b"y" * 5000)
    pages.put("k", kept, (("g", "t"),), None, time.time())
    assert pages.used >= _deep_size(kept)
    before = pages.used
    pages.put("k", kept, (("g", "t"),), None, time.time())
    assert pages.used == before and len(pages) == 1
    pages.discard("k")
    assert pages.used == 0


def test_a_page_larger_than_a_quarter_of_the_tier_is_not_kept():
    pages = Pages(8000)
    pages.put("big", entry(b"z" * 4000), (), None, time.time())
    assert pages.get("big") is None and pages.used == 0


def test_a_page_is_not_kept_past_its_timeout():
    pages = Pages(10**9)
    pages.put("old", entry(b"x", born=time.time() - 10), (), 5, time.time() - 10)
    assert pages.get("old") is None, "rendered 10 s ago with a 5 s timeout"
    pages.put("new", entry(b"x"), (), 5, time.time())
    assert pages.get("new") is not None


def test_a_kept_entry_never_shares_its_attributes_with_a_response():
    attributes = {"_csp_config": {"default-src": ["'self'"]}}
    kept = (*entry(b"x")[:6], attributes)
    copied = unshared(kept)
    assert copied[6] == attributes and copied[6]["_csp_config"] is not attributes["_csp_config"]
    plain = entry(b"x")
    assert unshared(plain) is plain, "nothing to copy: no cost"


# -- Tokens ----------------------------------------------------------------------------------


def live_tokens() -> Tokens:
    tokens = Tokens("jp:gen")
    tokens.go_live(True)
    tokens.trust_until(time.monotonic() + 60)
    return tokens


def test_tokens_are_learnt_only_from_reads_no_change_overtook():
    tokens = live_tokens()
    ticket = tokens.ticket()
    tokens.drop(["jp:gen:other"])  # any invalidation processed during the read
    tokens.learn({"jp:gen": "t1"}, ticket)
    assert tokens.known == {}
    ticket = tokens.ticket()
    tokens.learn({"jp:gen": "t1", "jp:page:x": "not a generation"}, ticket)
    assert tokens.known == {"jp:gen": "t1"}
    assert tokens.current((("jp:gen", "t1"),))
    assert not tokens.current((("jp:gen", "t0"),))
    assert not tokens.current(()), "a stamp that needs nothing is never taken as current"


def test_nothing_is_learnt_or_trusted_without_a_live_stream():
    tokens = Tokens("jp:gen")
    assert tokens.ticket() is None
    tokens.learn({"jp:gen": "t1"}, None)
    assert tokens.known == {}
    tokens.trust_until(time.monotonic() + 60)
    assert tokens.trusted_until == 0.0, "trust comes from a live stream only"


def test_a_dead_stream_forgets_everything_and_refuses_reads_in_flight():
    tokens = live_tokens()
    tokens.learn({"jp:gen": "t1"}, tokens.ticket())
    ticket = tokens.ticket()
    tokens.go_live(False)
    assert tokens.known == {} and not tokens.current((("jp:gen", "t1"),))
    tokens.go_live(True)
    tokens.learn({"jp:gen": "t1"}, ticket)  # read before the new stream: refused
    assert tokens.known == {}


def test_tokens_past_their_trust_are_not_current():
    tokens = live_tokens()
    tokens.learn({"jp:gen": "t1"}, tokens.ticket())
    tokens.trusted_until = time.monotonic() - 0.001
    assert not tokens.current((("jp:gen", "t1"),))


def test_timed_tokens_are_trusted_for_their_bound_after_the_read():
    tokens = TimedTokens("jp:gen", bound=60)
    ticket = tokens.ticket()
    tokens.learn({"jp:gen": "t1"}, ticket)
    assert tokens.current((("jp:gen", "t1"),))
    assert tokens.trusted_until == pytest.approx(ticket[1] + 60)
    expired = TimedTokens("jp:gen", bound=0.001)
    expired.learn({"jp:gen": "t1"}, expired.ticket())
    time.sleep(0.002)  # the bound itself is what is tested: it must have passed
    assert not expired.current((("jp:gen", "t1"),))
    late = expired.ticket()
    expired.learn({"jp:gen": "t2"}, late)  # a new set, trusted from this read on
    assert expired.known == {"jp:gen": "t2"}


# -- a cache that cannot push: the staleness bound ---------------------------------------------


@pytest.fixture
def file_cache(tmp_path):
    caches = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(tmp_path)}}  # fmt: skip
    with override_settings(CACHES=caches, JIMMY_PAGE_STATUS_HEADER=STATUS,
                           JIMMY_PAGE_DEBUG_CACHE=True):  # fmt: skip
        yield


@pytest.mark.usefixtures("file_cache")
@override_settings(JIMMY_PAGE_LOCAL_STALENESS_SECONDS=60)
def test_with_a_staleness_bound_a_cache_that_cannot_push_gets_the_tier(settle):
    assert tier_sources.source()[0] == tier_sources.TIMED
    statuses = [Client().get("/page/")[STATUS] for _ in range(3)]
    assert statuses == ["miss", "hit", "hit-local"]
    Article.objects.create(title="new")  # this process drops its own generation at once
    assert Client().get("/page/")[STATUS] == "stale"
    settle()


@pytest.mark.usefixtures("file_cache")
@override_settings(
    JIMMY_PAGE_LOCAL_STALENESS_SECONDS=60,
    MIDDLEWARE=["jimmypage.signed_in.SignedInHitMiddleware", *settings.MIDDLEWARE],
)
def test_with_a_staleness_bound_signed_in_copies_stay_out_of_the_tier(settle):
    """A session ended in another process must end its copies there at once: only a stream
    can tell, so a timed tier never holds them (its pages and generations are still used)."""
    User.objects.create_user("alice", password="pw")
    client = Client()
    assert client.login(username="alice", password="pw")
    statuses = [client.get("/account/")[STATUS] for _ in range(5)]
    assert statuses == ["miss", "hit", "hit", "hit", "hit"]
    assert all(key.split(":")[1] != "signed" for key in tier.current().pages._records)
    assert Client().get("/page/")[STATUS] == "miss"  # the tier itself is on
    assert [Client().get("/page/")[STATUS] for _ in range(2)] == ["hit", "hit-local"]
    settle()


@pytest.mark.usefixtures("file_cache")
def test_without_a_staleness_bound_a_cache_that_cannot_push_has_no_tier():
    assert tier_sources.source()[0] == tier_sources.OFF
    statuses = [Client().get("/page/")[STATUS] for _ in range(3)]
    assert statuses == ["miss", "hit", "hit"]


# -- system checks -----------------------------------------------------------------------------


@pytest.mark.usefixtures("file_cache")
def test_the_checks_say_when_the_tier_is_off_for_want_of_invalidations():
    (message,) = check_local_tier()
    assert isinstance(message, Info) and message.id == "jimmypage.I014"
    with override_settings(JIMMY_PAGE_LOCAL_STALENESS_SECONDS=0.5):
        (message,) = check_local_tier()
    assert isinstance(message, Warning) and message.id == "jimmypage.W014"
    assert "0.5 s" in message.msg
    with override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0):
        assert check_local_tier() == [], "turned off on purpose: nothing to say"


def test_the_checks_are_silent_with_redis_or_an_in_process_cache():
    assert settings.TEST_CACHE != "redis" or tier_sources.source()[0] == tier_sources.STREAM
    if settings.TEST_CACHE in ("redis", "locmem"):
        assert check_local_tier() == []


@pytest.mark.parametrize(
    "name", ["JIMMY_PAGE_LOCAL_CACHE_BYTES", "JIMMY_PAGE_LOCAL_STALENESS_SECONDS"]
)
def test_negative_sizes_and_bounds_are_errors(name):
    with override_settings(**{name: -1}):
        errors = check_local_tier()
    assert [(type(e), e.id) for e in errors] == [(Error, "jimmypage.E003")]
