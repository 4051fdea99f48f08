"""The process-local tier (``jimmypage.tier``) in this process, over a real Redis.

Each invariant of the tier's docstring has a test here; the same invariants across real server
processes are in ``test_tier_servers.py``. Waits are on conditions (a local hit, a caught-up
stream), never on durations.
"""

import os
import threading
import time

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

import jimmypage
from jimmypage import backend, generations, tier, tracking, users
from tests.counting import round_trips
from tests.processes import until
from tests.testapp.models import Article

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.skipif(
        settings.TEST_CACHE not in ("redis", "djredis"), reason="the stream needs Redis"
    ),
]
debug = override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DEBUG_CACHE=True)
early = override_settings(
    MIDDLEWARE=["jimmypage.middleware.AnonymousHitMiddleware", *settings.MIDDLEWARE]
)


def get(path: str = "/page/", **extra):
    return Client().get(path, **extra)


def local_hit(path: str = "/page/", **extra):
    """Ask for ``path`` until the tier answers it (the stream must be live and caught up)."""
    return until(
        lambda: (response := get(path, **extra))[STATUS] == "hit-local" and response,
        10,
        f"a local hit of {path}",
    )


def raw_redis() -> redis.Redis:
    """A client of the test Redis of its own: another process, as far as the tier knows."""
    return redis.Redis.from_url(settings.REDIS_URL)


def redis_key(key: str) -> str:
    return caches["default"].make_key(key)


def replace_elsewhere(key: str) -> None:
    """Give the generation at ``key`` a new token, as another process would (behind
    jimmypage's back: only the stream can tell the tier)."""
    caches["default"].set(key, generations.new_token(), None)


def not_local(path: str = "/page/") -> str:
    status = get(path)[STATUS]
    assert status != "hit-local", f"{path} was served from the tier after the change"
    return status


def never_outdated(path: str = "/page/") -> str:
    """Ask for ``path``: a local hit must carry the generations that are current in Redis."""
    response = get(path)
    if response[STATUS] == "hit-local":
        stamp = response.jimmypage_stamp
        key = generations.generation_key()
        found = backend.get_many([key, *generations.needed_keys(stamp)])
        assert generations.is_current(stamp, found.get(key), found), "an outdated local hit"
    return response[STATUS]


@debug
def test_a_warm_hit_is_served_with_no_round_trip():
    assert get()[STATUS] == "miss"
    assert get()[STATUS] == "hit"  # the remote path fills the tier
    for _ in range(100):
        with round_trips() as counted:
            response = get()
        if response[STATUS] == "hit-local":
            break
    assert response[STATUS] == "hit-local"
    assert counted == {}, "a local hit sends no command to Redis"
    assert b"page|" in response.content


@debug
@early
def test_a_warm_early_hit_is_served_with_no_round_trip():
    get()
    get()
    for _ in range(100):
        with round_trips() as counted:
            response = get()
        if response[STATUS] == "hit-local":
            break
    assert response[STATUS] == "hit-local" and counted == {}


@debug
def test_a_varying_page_is_served_from_the_tier_per_variant():
    for accept in ("text/html", "application/json"):
        get("/vary/", HTTP_ACCEPT=accept)
        get("/vary/", HTTP_ACCEPT=accept)
    assert local_hit("/vary/", HTTP_ACCEPT="text/html").content == b"accept=text/html"
    assert local_hit("/vary/", HTTP_ACCEPT="application/json").content == b"accept=application/json"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_the_header_says_hit_unless_debugging():
    get()
    statuses = {get()[STATUS] for _ in range(20)}
    assert statuses == {"hit"}


@debug
@override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0)
def test_a_tier_of_zero_bytes_is_the_one_round_trip_path():
    assert tier.current() is None
    get()
    for _ in range(5):
        with round_trips() as counted:
            assert get()[STATUS] == "hit"
        assert counted == {"get_many": 1}


@debug
def test_the_writing_process_drops_its_own_generation_at_once():
    get()
    local_hit()
    tracking.pause()  # the stream cannot help: the write itself must drop the token
    try:
        Article.objects.create(title="new")
        response = get()
    finally:
        tracking.resume()
    assert response[STATUS] == "stale"
    assert b"articles=|" in response.content


@debug
def test_invalidate_drops_the_generation_at_once():
    get()
    local_hit()
    jimmypage.invalidate()
    assert get()[STATUS] == "stale"


@debug
@pytest.mark.parametrize("mode", ["global", "per-table"])
def test_another_process_writing_a_generation_reaches_the_tier(mode):
    with override_settings(JIMMY_PAGE_MODE=mode):
        get()
        local_hit()
        key = generations.generation_key()
        if mode == "per-table":
            key = generations.table_key(Article._meta.db_table)
        replace_elsewhere(key)
        assert tier.settle()
        assert not_local() == "stale"


@debug
@pytest.mark.parametrize("how", ["delete", "expire", "flushdb"])
def test_an_evicted_expired_or_flushed_generation_reaches_the_tier(how):
    get()
    local_hit()
    client, key = raw_redis(), redis_key(generations.generation_key())
    if how == "delete":  # what an eviction does too: Redis signals the key as modified
        client.delete(key)
    elif how == "expire":
        client.pexpire(key, 1)
        until(lambda: not client.exists(key), 10, "the generation to expire")
    else:
        client.flushdb()
    assert tier.settle()
    assert not_local() in ("stale", "miss")


@debug
def test_a_token_read_while_an_invalidation_is_processed_is_not_learnt(monkeypatch):
    """Invariant 1's race: the remote read returns T1, another process replaces it, the stream
    processes that, and only then would the request keep T1: it must not."""
    get()
    local_hit()
    tier.reset()  # the next hit reads its generation remotely again
    real_get_many = backend.get_many

    def get_many_then_a_write_elsewhere(keys):
        found = real_get_many(keys)
        replace_elsewhere(generations.generation_key())
        assert tier.settle()
        return found

    monkeypatch.setattr(backend, "get_many", get_many_then_a_write_elsewhere)
    assert get()[STATUS] == "hit", "fresh when it was read: served (a request in flight)"
    monkeypatch.setattr(backend, "get_many", real_get_many)
    assert generations.generation_key() not in tier.current().tokens.known
    assert not_local() == "stale"
    for _ in range(20):  # the refresh runs: never a local hit of the old page
        never_outdated()


@debug
def test_a_killed_stream_forgets_every_generation_and_comes_back():
    get()
    local_hit()
    stream = tier.current().stream
    old_id = stream.client_id
    raw_redis().client_kill_filter(_id=old_id)
    until(lambda: not tier.current().tokens.live, 10, "the stream to see its death")
    assert tier.current().tokens.known == {}
    until(lambda: tier.current().tokens.live, 10, "a new stream")
    assert stream.client_id != old_id
    local_hit()  # read again after the new stream, then trusted


@debug
def test_a_stalled_stream_stops_local_hits_within_its_lag():
    get()
    local_hit()
    tracking.pause()
    try:
        paused_at = time.monotonic()
        replace_elsewhere(generations.generation_key())
        # Within MAX_LAG the old page may still be served: the bound of the promise. After it:
        until(lambda: time.monotonic() > paused_at + tracking.MAX_LAG, 1, "the lag to pass")
        assert not_local() == "stale"
        for _ in range(10):  # the refresh runs: a remote hit, never a local one
            not_local()
    finally:
        tracking.resume()
    assert tier.settle()
    for _ in range(10):
        never_outdated()


@debug
@override_settings(CACHES={"default": settings.CACHES["broken"]})
def test_a_stream_that_cannot_start_never_blocks_a_request():
    started = time.monotonic()
    assert get()[STATUS] == "bypass"
    assert get()[STATUS] == "bypass"
    assert tier.current() is not None and not tier.current().tokens.live
    assert time.monotonic() - started < 5, "requests never wait for the stream"


@debug
def test_stale_pages_still_start_one_refresh_per_generation(settle):
    from tests.testapp.views import RENDERS

    get()
    local_hit()
    Article.objects.create(title="new")
    statuses = [get()[STATUS] for _ in range(10)]
    settle()
    assert statuses[0] == "stale" and "miss" not in statuses
    assert RENDERS["page"] == 2, "the first render and one refresh"
    assert b"articles=new|" in local_hit().content


@pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")  # what --preload does
def test_a_forked_process_gets_its_own_stream():
    get()
    get()
    parent = tier.current()
    assert tier.settle()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its stream's client id, never return into pytest
        code = 1
        try:
            child = tier.current()
            ok = child is not parent and child.stream.pid == os.getpid() and tier.settle()
            os.write(writer, f"{child.stream.client_id if ok else 0}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)

    def child_exited():
        done, status = os.waitpid(pid, os.WNOHANG)
        return done and (status,)

    try:
        (status,) = until(child_exited, 30, "the forked child")
    except AssertionError:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    child_id = int(os.read(reader, 64) or 0)
    os.close(reader)
    assert status == 0 and child_id not in (0, parent.stream.client_id)
    assert parent.tokens.live, "the parent's stream was left alone"
    assert tier.settle()


@debug
def test_the_tier_stays_within_its_bytes_under_many_pages():
    from jimmypage.local import _deep_size

    bound = 200_000
    with override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=bound):
        for number in range(400):
            get(f"/page/?n={number}")
            get(f"/page/?n={number}")  # remote hits: each fills the tier
            pages = tier.current().pages
            assert pages.used <= bound
        records = list(pages._records.values())
        assert 10 < len(records) < 400, "old pages left, the newest stayed"
        real = sum(_deep_size(record.entry) for record in records)
        assert real <= pages.used, "the estimate errs on the high side"
        assert b"n'" in local_hit("/page/?n=399").content


@debug
@override_settings(JIMMY_PAGE_CACHE_SECONDS=1)
def test_a_page_never_outlives_its_timeout_in_the_tier():
    get()
    local_hit()
    record = tier.current().pages._records[next(iter(tier.current().pages._records))]
    assert record.expires_at is not None and record.expires_at <= time.monotonic() + 1
    until(lambda: time.monotonic() > record.expires_at, 5, "the timeout")
    assert not_local() in ("miss", "hit")


@debug
@override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES="lots")  # check jimmypage.E001 says so
def test_a_tier_that_cannot_be_made_is_off_never_an_error():
    assert [get()[STATUS] for _ in range(3)] == ["miss", "hit", "hit"]
    assert tier.current() is None


@debug
def test_a_signed_in_users_page_is_served_from_the_tier_until_the_user_changes(monkeypatch):
    """The users generation is one of the page's tokens: a write to the user reaches the tier."""
    from django.contrib.auth.models import User

    alice = User.objects.create_user("alice", password="pw", is_staff=True)
    client = Client()
    assert client.login(username="alice", password="pw")
    assert client.get("/account/")[STATUS] == "miss"
    for _ in range(100):
        with round_trips() as counted:
            response = client.get("/account/")
        if response[STATUS] == "hit-local":
            break
    assert response[STATUS] == "hit-local" and counted == {}
    assert b"user=alice" in response.content
    # The stream may well tell the tier first: what must not wait for it is the writer's own drop.
    tokens, writer = tier.current().tokens, threading.get_ident()
    dropped_by_the_writer: list[str] = []

    def drop(changed):
        changed = list(changed)
        if threading.get_ident() == writer:
            dropped_by_the_writer.extend(changed)
        return type(tokens).drop(tokens, changed)

    monkeypatch.setattr(tokens, "drop", drop)
    User.objects.filter(pk=alice.pk).update(is_staff=False)
    assert dropped_by_the_writer == [users.generation_key()]
    assert client.get("/account/")[STATUS] == "stale", "the users generation changed"
