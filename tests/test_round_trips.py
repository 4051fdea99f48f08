"""A hit costs one cache round trip (two when the page varies on a request header)."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

from tests import counting

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_is_one_round_trip():
    client = Client()
    client.get("/page/")
    counting.calls.clear()
    assert client.get("/page/")[STATUS] == "hit"
    assert counting.calls == ["get_many"]


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_on_a_page_with_vary_is_two_round_trips():
    client = Client()
    client.get("/vary/", HTTP_ACCEPT="text/html")
    counting.calls.clear()
    assert client.get("/vary/", HTTP_ACCEPT="text/html")[STATUS] == "hit"
    assert counting.calls == ["get_many", "get"]


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_miss_reads_once_and_writes_once():
    counting.calls.clear()
    Client().get("/page/")
    # get_many (entry + generation), add (the first generation), set (the page)
    assert counting.calls == ["get_many", "add", "set"]
    counting.calls.clear()
    Client().get("/first/")
    assert counting.calls == ["get_many", "set"]


@pytest.mark.skipif(settings.TEST_CACHE != "redis", reason="Redis command statistics")
@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_is_one_redis_command():
    client = Client()
    client.get("/page/")
    redis = caches["default"]._cache.get_client(None, write=True)
    redis.config_resetstat()
    assert client.get("/page/")[STATUS] == "hit"
    stats = redis.info("commandstats")
    # The statistics calls themselves are counted by Redis: leave them out.
    ignored = {"cmdstat_info", "cmdstat_config|resetstat"}
    commands = {name: value["calls"] for name, value in stats.items() if name not in ignored}
    assert commands == {"cmdstat_mget": 1}
