"""Signals and counters report what the cache did, for metrics."""

import pytest
from django.test import Client, override_settings

import jimmypage
from jimmypage import signals, stats
from tests.testapp.models import Article, Tag
from tests.testapp.views import BEHAVIOUR

pytestmark = pytest.mark.usefixtures("clean_state")


@pytest.fixture
def received():
    """Connect a recorder to every signal; yields the (signal name, kwargs) it received."""
    seen = []
    names = [
        "page_hit",
        "page_stale",
        "page_miss",
        "page_bypassed",
        "page_refreshed",
        "refresh_failed",
        "generation_changed",
    ]
    recorders = {}
    for name in names:

        def recorder(sender, signal, name=name, **kwargs):
            seen.append((name, kwargs))

        recorders[name] = recorder
        getattr(signals, name).connect(recorder)
    yield seen
    for name, recorder in recorders.items():
        getattr(signals, name).disconnect(recorder)


def names(seen):
    return [name for name, _ in seen]


def test_request_signals(received, settle):
    client = Client()
    client.get("/page/")
    client.get("/page/")
    Article.objects.create(title="new")
    client.get("/page/")
    settle()
    client.post("/page/")
    assert names(received) == [
        "page_miss",
        "page_hit",
        "generation_changed",
        "page_stale",
        "page_refreshed",
        "page_bypassed",
    ]
    hit = received[1][1]
    assert hit["request"].path == "/page/" and hit["age"] >= 0 and hit["reason"] == "fresh"
    refreshed = received[4][1]
    assert refreshed["outcome"] == "stored" and refreshed["path"] == "/page/"
    assert refreshed["duration"] >= 0
    assert received[2][1] == {"tables": None}


def test_refresh_failed_signal(received, settle):
    client = Client(raise_request_exception=False)  # not the background refresh's error
    client.get("/changing/")
    BEHAVIOUR["changing"] = "error"
    jimmypage.invalidate()
    client.get("/changing/")
    settle()
    [(_, failed)] = [item for item in received if item[0] == "refresh_failed"]
    assert isinstance(failed["exception"], RuntimeError) and failed["path"] == "/changing/"


@override_settings(JIMMY_PAGE_MODE="per-table")
def test_generation_changed_names_the_tables(received):
    Tag.objects.create(name="t")
    assert ("generation_changed", {"tables": frozenset({"testapp_tag"})}) in received


def test_counters_add_up_across_flushes(settle):
    stats.reset()
    client = Client()
    client.get("/page/")
    client.get("/page/")
    client.get("/page/")
    stats.flush()
    Article.objects.create(title="new")
    client.get("/page/")
    settle()
    client.post("/page/")
    stats.flush()
    totals = stats.totals()
    assert totals.pop("local_hit") <= totals["hit"]  # local hits are hits too (Redis: the tier)
    assert totals.pop("invalidation") >= 0 and totals.pop("stream_drop") == 0
    assert totals == {
        "hit": 2,
        "stale": 1,
        "miss": 1,
        "bypass": 1,
        "refreshed": 1,
        "refresh_failed": 0,
    }


def test_counters_survive_an_evicted_total():
    from django.core.cache import caches

    stats.reset()
    Client().get("/page/")
    stats.flush()
    caches["default"].delete(stats.counter_key("miss"))
    Client().get("/first/")
    stats.flush()
    assert stats.totals()["miss"] == 1


def test_a_hit_costs_no_round_trip_for_the_counters():
    from tests.counting import round_trips

    client = Client()
    client.get("/page/")
    with round_trips() as counted:
        client.get("/page/")
    assert counted == {"get_many": 1}
