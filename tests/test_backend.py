"""A cache that is down never reaches the visitor or the code that writes."""

import logging

import pytest
from django.test import Client, override_settings

import jimmypage
from jimmypage import log
from tests.testapp.models import Article
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")

# "broken" is a real Redis client aimed at a port where nothing listens.
down = override_settings(JIMMY_PAGE_CACHE_ALIAS="broken", JIMMY_PAGE_STATUS_HEADER=STATUS)


@pytest.fixture(autouse=True)
def fresh_error_log(monkeypatch):
    monkeypatch.setattr(log, "_last_error_at", {})


@down
def test_pages_are_served_uncached_when_the_cache_is_down(caplog):
    with caplog.at_level(logging.ERROR, logger="jimmypage"):
        first = Client().get("/page/")
        second = Client().get("/page/")
    assert first.status_code == second.status_code == 200
    assert first[STATUS] == second[STATUS] == "bypass"
    assert RENDERS["page"] == 2
    errors = [r for r in caplog.records if "cache get_many failed" in r.getMessage()]
    assert len(errors) == 1, "logged once per interval, not once per request"


@down
def test_writes_succeed_when_the_cache_is_down(caplog):
    with caplog.at_level(logging.ERROR, logger="jimmypage"):
        Article.objects.create(title="saved")
        jimmypage.invalidate()
    assert Article.objects.filter(title="saved").exists()
    assert any("cache set failed" in r.getMessage() for r in caplog.records)


@down
def test_template_and_async_views_survive_the_cache_being_down():
    assert Client().get("/template/").status_code == 200
    assert Client().get("/async/").status_code == 200


def test_error_log_is_rate_limited_per_action(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(log.time, "monotonic", lambda: clock[0])
    with caplog.at_level(logging.ERROR, logger="jimmypage"):
        log.cache_error("get", OSError("down"))
        log.cache_error("get", OSError("down"))
        log.cache_error("set", OSError("down"))
        clock[0] += log.ERROR_INTERVAL + 1
        log.cache_error("get", OSError("down"))
    assert len(caplog.records) == 3


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_caching_resumes_when_the_cache_answers_again():
    with override_settings(JIMMY_PAGE_CACHE_ALIAS="broken"):
        assert Client().get("/page/")[STATUS] == "bypass"
    assert Client().get("/page/")[STATUS] == "miss"
    assert Client().get("/page/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_write_made_while_the_cache_was_down_still_makes_pages_stale(settle):
    client = Client()
    client.get("/page/")
    with override_settings(JIMMY_PAGE_CACHE_ALIAS="broken"):
        Article.objects.create(title="written while the cache was away")
    stale = client.get("/page/")
    assert stale[STATUS] == "stale"
    settle()
    assert b"written while the cache was away" in client.get("/page/").content


def test_the_redis_fast_path_is_used_for_djangos_redis_cache():
    from django.conf import settings

    from jimmypage import backend

    expected = backend.RedisStore if settings.TEST_CACHE == "redis" else backend.DjangoStore
    store = backend.store()
    assert type(store) is expected
    # Each method is the class's own, not the cache's, so the fast path really runs.
    assert all(
        getattr(type(store), name) is getattr(expected, name)
        for name in ("get_many", "get", "put", "put_many", "add", "delete")
    )
    assert "get_many" not in vars(store)


def test_the_redis_store_reads_what_djangos_cache_writes_and_back():
    from django.core.cache import caches

    from jimmypage import backend

    cache = caches["default"]
    store = backend.store()
    cache.set("from-django", ("a", 1, b"x"), None)
    store.put("from-store", {"k": [1, 2]}, 60)
    store.put_many({"many-a": 1, "many-b": "two"}, 60)
    store.put_many({"many-c": 3.5}, None)
    assert store.get_many(["from-django", "missing"]) == {"from-django": ("a", 1, b"x")}
    assert cache.get("from-store") == {"k": [1, 2]}
    assert cache.get_many(["many-a", "many-b", "many-c"]) == {
        "many-a": 1,
        "many-b": "two",
        "many-c": 3.5,
    }
    assert store.add("from-store", "other", 60) is False
    assert store.add("fresh", "value", 60) is True and store.get("fresh") == "value"
    store.delete("fresh")
    assert cache.get("fresh") is None and store.get("fresh") is None
