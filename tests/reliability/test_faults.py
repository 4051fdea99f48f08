"""Faults, with real servers of our own: the cache is never the truth and never stops a page.

In this process (with a private redis-server where a cache is needed):

* a slow cache (a proxy that delays every packet by 1 s) is bounded by Django's RedisCache
  ``socket_timeout``: pages are served uncached, writes succeed, and caching resumes when the
  cache is fast again, with no write lost;
* a refresh whose view raises keeps the stale page and frees its lock after the retry pause;
* a refresh whose view hangs holds one pool thread and its own lock, never a visitor; the pool is
  bounded, a full pool refuses refreshes (their locks freed) and serves the stale pages.

On the live site (gunicorn, a private PostgreSQL database behind a proxy, a private Redis):

* Redis killed in the middle of a load run and started again: 0 errors, 0 failed writes, caching
  resumes once Redis answers (how soon is reported: 0.03 s on an idle machine);
* the database gone (its proxy cut) in the middle of a load run: every cached page is still
  served, the refreshes that find the database gone fail cleanly, and once it is back the pages
  are refreshed within the retry pause.
"""

from __future__ import annotations

import http.client
import logging
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from jimmypage import executors, refresh
from tests.connections import close_thread_connections
from tests.testapp import reliability_views
from tests.testapp.models import Article

from .load import run_load
from .servers import (
    PrivateRedis,
    TcpProxy,
    free_port,
    redis_server_binary,
)
from .support import SETTINGS, STATUS, cache_keys, figure, live_site, require


def in_refresh_thread() -> bool:
    return threading.current_thread().name.startswith("jimmypage")


def locks() -> list[str]:
    """The refresh locks held now (LocMemCache forgets expired keys only when asked for them)."""
    cache = caches["default"]
    return [key for key in cache_keys() if ":lock:" in key and cache.has_key(key)]


@pytest.fixture
def private_redis():
    require(redis_server_binary() is not None, "redis-server")
    with PrivateRedis() as server:
        yield server


def redis_caches(port: int, timeout: float) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_timeout": timeout, "socket_connect_timeout": timeout},
        }
    }


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_slow_cache_is_bounded_by_its_socket_timeout(private_redis, settle):
    proxy = TcpProxy(private_redis.port).start()
    timeout = 0.25
    try:
        # The remote path's bound: the local tier answers from memory whatever the cache's
        # speed (its own stall test is in tests/test_tier_servers.py).
        slow = override_settings(JIMMY_PAGE_LOCAL_CACHE_BYTES=0)
        with override_settings(**SETTINGS, CACHES=redis_caches(proxy.port, timeout)), slow:
            client = Client()
            assert client.get("/articles/")[STATUS] == "miss"
            assert client.get("/articles/")[STATUS] == "hit"
            proxy.delay = 1.0  # every packet, both ways, one second late: slower than timeout
            slow_pages = [timed(lambda: client.get("/articles/")) for _ in range(3)]
            written, write_seconds = timed(lambda: Article.objects.create(title="while slow"))
            assert all(page.status_code == 200 for page, _ in slow_pages)
            assert {page[STATUS] for page, _ in slow_pages} == {"bypass"}
            assert Article.objects.filter(pk=written.pk).exists()
            worst = max(seconds for _, seconds in slow_pages)

            proxy.delay = 0.0
            fast_again = time.monotonic()
            page = client.get("/articles/")
            while page[STATUS] != "hit" and time.monotonic() - fast_again < 10:
                settle()
                page = client.get("/articles/")
            resumed = time.monotonic() - fast_again
            assert page[STATUS] == "hit"
            assert b"while slow" in page.content, "the write made while the cache was slow was lost"
    finally:
        proxy.close()
    figure(
        "slow cache",
        socket_timeout_s=timeout,
        injected_delay_s=1.0,
        worst_page_s=round(worst, 2),
        write_s=round(write_seconds, 2),
        caching_resumed_after_s=round(resumed, 2),
    )
    # A page costs one failed round trip (lookup) and a write one (the generation), each bounded
    # by the timeout and redis-py's retries; never the injected delay times the requests queued.
    assert worst < 3.0 and write_seconds < 3.0


# A pause long enough that the checks "within the pause" run within it on a busy machine.
@override_settings(**SETTINGS, JIMMY_PAGE_REFRESH_RETRY_SECONDS=3)
def test_a_refresh_whose_view_raises_keeps_the_stale_page_and_frees_its_lock(
    manual_refreshes, caplog
):
    client = Client()
    first = client.get("/raising/")
    Article.objects.create(title="new")

    def fail(request):
        if in_refresh_thread():
            raise RuntimeError("the view broke")

    reliability_views.HOOKS["raising"] = fail
    try:
        stale = client.get("/raising/")
        assert stale[STATUS] == "stale" and stale.content == first.content
        assert len(locks()) == 1
        with caplog.at_level(logging.ERROR, logger="jimmypage"):
            manual_refreshes.run()
        assert "the stale page is kept" in caplog.text
        assert len(locks()) == 1, "a failed refresh keeps its lock for the retry pause"
        within_pause = client.get("/raising/")
        assert within_pause[STATUS] == "stale" and within_pause.content == first.content
        assert manual_refreshes.queue == [], "no refresh within the pause"
        waited = time.monotonic()
        while locks() and time.monotonic() - waited < 10:
            time.sleep(0.1)
        assert locks() == [], "the lock of a failed refresh must be freed after the pause"
        refresh._tried_locks.clear()  # (this process's memo of the pause ends with it too)
        again = client.get("/raising/")
        assert again[STATUS] == "stale" and again.content == first.content
        assert len(manual_refreshes.queue) == 1, "the next request after the pause tries again"
    finally:
        reliability_views.HOOKS.clear()
    manual_refreshes.run()
    fresh = client.get("/raising/")
    assert fresh[STATUS] == "hit" and b"new" in fresh.content


@override_settings(**SETTINGS, JIMMY_PAGE_TASK_LOCK_EXPIRES=2)
def test_a_hung_refresh_holds_a_thread_and_its_lock_and_a_full_pool_refuses(monkeypatch, caplog):
    pool = executors.ThreadExecutor(1, 1)  # one thread, one waiting refresh
    monkeypatch.setattr(refresh, "executor", lambda: pool)
    release = threading.Event()
    reliability_views.HOOKS["raising"] = lambda r: release.wait(30) if in_refresh_thread() else 0
    client = Client()
    pages = [f"/raising/?page={name}" for name in "abcd"]
    try:
        for page in pages:
            assert client.get(page)[STATUS] == "miss"
        Article.objects.create(title="new")
        worst = 0.0
        with caplog.at_level(logging.WARNING, logger="jimmypage"):
            for page in pages[:3]:  # a: runs and hangs; b: waits; c: refused, pool full
                response, seconds = timed(lambda page=page: client.get(page))
                worst = max(worst, seconds)
                assert response[STATUS] == "stale"
        assert "refresh queue full" in caplog.text
        assert len(locks()) == 2, "a and b hold their locks; c's was freed when refused"
        for _ in range(5):  # visitors never wait for the hung render
            response, seconds = timed(lambda: client.get(pages[0]))
            worst = max(worst, seconds)
            assert response[STATUS] == "stale"
        time.sleep(2.2)  # a's lock expires while its render still hangs
        assert len(locks()) == 0
        response = client.get(pages[0])  # a second refresh of a: refused, the pool is full
        assert response[STATUS] == "stale" and len(locks()) == 0
        assert not pool.wait(0.1), "the hung refresh is still running"
    finally:
        release.set()
    assert pool.wait(10)
    reliability_views.HOOKS.clear()
    assert [client.get(page)[STATUS] for page in pages[:2]] == ["hit", "hit"]
    assert client.get(pages[2])[STATUS] == "stale"  # refused before: retried now
    assert pool.wait(10)
    assert client.get(pages[2])[STATUS] == "hit"
    assert pool.submit(close_thread_connections) and pool.wait(10)  # before the pool is dropped
    figure("hung refresh", worst_visitor_latency_s=round(worst, 3), pool="1 thread + 1 queued")
    assert worst < 0.5


# The live site: gunicorn, a private database behind a proxy, a private Redis.


@pytest.fixture(scope="module")
def site():
    with live_site(workers=2, threads=4, redis_timeout=0.25) as live:
        yield live


def get(site, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader(STATUS, ""), response.read()
    finally:
        connection.close()


def until_hit(site, path: str, seconds: float = 5.0) -> tuple[int, str, bytes]:
    """``get`` the page until it is a hit, for at most ``seconds`` (a failed refresh's pause)."""
    deadline = time.monotonic() + seconds
    answer = get(site, path)
    while answer[1] != "hit" and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = get(site, path)
    return answer


def test_redis_killed_mid_load_and_started_again(site):
    moments = {}

    def kill():
        site.redis.stop()
        moments["down"] = time.monotonic()

    def restart():
        site.redis.start()  # returns once it answers PING
        moments["up"] = time.monotonic()

    # At least 30 writes, however busy the machine: the load goes on past its 8 s until then.
    load = run_load(
        site.url, 8, clients=4, write_every=0.2, events=[(2.5, kill), (4.5, restart)], min_writes=30
    )
    up = moments["up"] - load.started
    down = moments["down"] - load.started
    first_hit = min((r.at for r in load.results if r.at >= up and r.cache == "hit"), default=None)
    during = [r for r in load.results if down <= r.at < up]
    figures = load.summary()
    figure(
        "redis killed and restarted",
        **figures,
        outage_s=round(up - down, 2),
        answered_during_outage=len(during),
        bypassed_during_outage=sum(r.cache == "bypass" for r in during),
        first_hit_after_redis_answered_s=None if first_hit is None else round(first_hit - up, 3),
    )
    assert (load.errors, load.server_errors, load.leaks) == (0, 0, 0), (figures, site.tail())
    assert load.failed_writes == 0 and load.writes >= 30, figures
    assert during and all(r.status == 200 for r in during)
    # Caching resumes once Redis answers (the 3.5 s left of the run). How soon is a figure, not
    # asserted: on a busy machine it took 0.7 s where it takes 0.03 s on an idle one.
    assert first_hit is not None, figures


def test_database_gone_mid_load_cached_pages_are_still_served(site):
    anonymous = ()  # only visitors whose pages need no database to be looked up
    pages = ["/articles/", "/articles/one/", "/tags/", "/tagged/", "/static/", "/template/"]
    pages[-1] = "/template/?articles"  # (its name says it shows titles, for the check below)
    for page in pages:  # every page cached before the database goes
        get(site, page)
    log_before = site.log_text().count("the stale page is kept")
    moments = {}

    def write_then_cut():
        connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
        connection.request("POST", "/write/?title=before-the-cut")
        assert connection.getresponse().status == 200
        connection.close()
        site.db_proxy.cut()
        moments["cut"] = time.monotonic()

    def restore():
        site.db_proxy.restore()
        moments["restored"] = time.monotonic()

    load = run_load(
        site.url,
        7,
        clients=4,
        write_every=None,
        users=anonymous,
        pages=pages,
        events=[(1.0, write_then_cut), (4.0, restore)],
    )
    cut, restored = moments["cut"] - load.started, moments["restored"] - load.started
    during = [r for r in load.results if cut <= r.at < restored]
    after = [r for r in load.results if r.at >= restored + 2.0]
    failed_refreshes = site.log_text().count("the stale page is kept") - log_before
    fresh_after = [until_hit(site, page) for page in pages]
    figure(
        "database gone",
        **load.summary(),
        outage_s=round(restored - cut, 2),
        answered_during_outage=len(during),
        failed_refreshes_logged=failed_refreshes,
        statuses_during_outage=dict(Counter(r.cache for r in during)),
    )
    assert during and all(r.status == 200 for r in during), load.summary()
    assert {r.cache for r in during} <= {"stale", "hit"}
    assert failed_refreshes > 0, "refreshes ran while the database was gone, and failed"
    assert (load.errors, load.server_errors, load.leaks) == (0, 0, 0), site.tail()
    assert after and all(r.status == 200 for r in after)
    # Once the database is back, the pages are refreshed: fresh, with the write made before.
    assert all(status == 200 and cache == "hit" for status, cache, _ in fresh_after), fresh_after
    titled = [body for (_, _, body), page in zip(fresh_after, pages, strict=True) if "art" in page]
    assert titled and all(b"before-the-cut" in body for body in titled)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="a known limit: a process that writes while it can never reach the cache keeps the "
    "generation change in its own memory; it retries at exit and logs an ERROR asking for "
    "`manage.py jimmypage invalidate`, but the change itself is lost (see docs/reliability.md)",
)
def test_a_write_from_a_process_that_cannot_reach_the_cache_is_not_lost(site):
    get(site, "/articles/two/")
    assert get(site, "/articles/two/")[1] == "hit"
    env = {**site.env(), "JP_SITE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    script = (
        "import django; django.setup()\n"
        "from tests.testapp.models import Article\n"
        "Article.objects.create(title='written-offline')\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    status, cache, body = get(site, "/articles/two/")
    assert cache != "hit" or b"written-offline" in body, f"{cache}: {body[-200:]!r}"
