"""A hit costs one cache round trip (two when the page varies on a request header)."""

import pytest
from django.test import Client, override_settings

from tests.counting import round_trips

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_is_one_round_trip():
    client = Client()
    client.get("/page/")
    with round_trips() as counted:
        assert client.get("/page/")[STATUS] == "hit"
    assert counted == {"get_many": 1}


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_on_a_page_with_vary_is_two_round_trips():
    client = Client()
    client.get("/vary/", HTTP_ACCEPT="text/html")
    with round_trips() as counted:
        assert client.get("/vary/", HTTP_ACCEPT="text/html")[STATUS] == "hit"
    assert counted == {"get_many": 1, "get": 1}


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_miss_reads_once_and_writes_once():
    with round_trips() as counted:
        Client().get("/page/")
    # get_many (entry + generation), add (the first generation), set (the page)
    assert counted == {"get_many": 1, "set": 2}
    with round_trips() as counted:
        Client().get("/first/")
    assert counted == {"get_many": 1, "set": 1}


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_stale_hit_costs_a_lock_attempt(settle):
    from tests.testapp.models import Article

    client = Client()
    client.get("/page/")
    Article.objects.create(title="new")
    with round_trips(all_threads=True) as counted:
        assert client.get("/page/")[STATUS] == "stale"
        settle()
    # the request: get_many, add (the lock); the refresh: get_many (fresh yet?), get (the
    # generation), get_many (nothing: global mode reads no table), set (the page), delete.
    assert counted["set"] == 2 and counted["delete"] == 1


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_stale_hits_while_the_refresh_runs_are_one_round_trip(settle):
    import threading

    from tests.testapp.models import Article
    from tests.testapp.views import HOOKS

    client = Client()
    client.get("/page/")
    Article.objects.create(title="new")
    rendering, finish = threading.Event(), threading.Event()

    def hold(request):
        if threading.current_thread().name.startswith("jimmypage"):
            rendering.set()
            finish.wait(10)

    HOOKS["page"] = hold
    assert client.get("/page/")[STATUS] == "stale"  # starts the refresh, which waits
    assert rendering.wait(10)
    with round_trips() as counted:
        assert client.get("/page/")[STATUS] == "stale"
    finish.set()
    settle()
    assert counted == {"get_many": 1}, "this process knows its refresh runs: no lock attempt"
