"""``Cache-Control`` and ``Age`` for the caches downstream (the setting
``JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL``)."""

import types

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client, override_settings

from jimmypage import downstream, entries
from jimmypage.checks import check_settings
from tests.testapp.models import Article

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")
SITE_ASKS = {
    "max-age": 60,
    "s-maxage": 600,
    "stale-while-revalidate": 30,
    "stale-if-error": 300,
}


def directives(response) -> dict[str, str | None]:
    parts = [part.strip() for part in response["Cache-Control"].split(",")]
    return {name: value or None for name, _, value in (part.partition("=") for part in parts)}


def _aged(monkeypatch, seconds):
    real = entries.time.time
    monkeypatch.setattr(entries, "time", types.SimpleNamespace(time=lambda: real() + seconds))


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_by_default_shared_pages_must_be_revalidated():
    assert Client().get("/page/")["Cache-Control"] == "max-age=0"
    assert Client().get("/page/")["Cache-Control"] == "max-age=0"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_a_fresh_shared_page_is_cacheable_for_the_chosen_seconds_from_now(monkeypatch):
    miss = Client().get("/page/")
    assert directives(miss) == {
        "max-age": "60",
        "s-maxage": "600",
        "stale-while-revalidate": "30",
        "stale-if-error": "300",
    }
    _aged(monkeypatch, 1000)
    hit = Client().get("/page/")
    age = int(hit["Age"])
    assert hit[STATUS] == "hit" and 1000 <= age <= 1002
    # RFC 9111 4.2.3: what is left is max-age - Age: the chosen seconds, from now.
    assert directives(hit)["max-age"] == str(age + 60)
    assert directives(hit)["s-maxage"] == str(age + 600)
    assert directives(hit)["stale-while-revalidate"] == "30"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_a_stale_page_is_stale_downstream_too(settle):
    Client().get("/page/")
    Article.objects.create(title="news")
    stale = Client().get("/page/")
    assert stale[STATUS] == "stale"
    assert directives(stale) == {
        "max-age": "0",
        "s-maxage": "0",
        "stale-while-revalidate": "30",
        "stale-if-error": "300",
    }
    settle()


@override_settings(JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL={"max-age": 0, "s-maxage": 120})
def test_only_shared_caches_may_keep_it():
    assert Client().get("/page/")["Cache-Control"] == "max-age=0, s-maxage=120"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_pages_of_a_user_a_session_or_an_authorization_are_private():
    alice = Client()
    alice.force_login(User.objects.create_user("alice", password="pw"))
    shopper = Client()
    shopper.get("/cart/put/boots/")
    for client, path, extra in (
        (alice, "/page/", {}),
        (shopper, "/cart/", {}),
        (Client(), "/authz/", {"HTTP_AUTHORIZATION": "Bearer one"}),
    ):
        for status in ("miss", "hit"):
            response = client.get(path, **extra)
            assert response[STATUS] == status
            assert response["Cache-Control"] == "private, no-cache", (path, status)


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_a_views_own_cache_control_is_kept_and_made_private_for_one_visitor():
    path = "/headers/?h=Cache-Control:public, max-age=300"
    for status in ("miss", "hit"):
        shared = Client().get(path)
        assert shared[STATUS] == status and shared["Cache-Control"] == "public, max-age=300"
    alice = Client()
    alice.force_login(User.objects.create_user("alice", password="pw"))
    for status in ("miss", "hit"):
        mine = alice.get(path)
        assert mine[STATUS] == status
        assert directives(mine) == {"max-age": "300", "private": None}


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_a_views_own_expires_is_not_overridden_on_a_shared_page():
    path = "/headers/?h=Expires:Thu, 01 Jan 2037 00:00:00 GMT"
    for status in ("miss", "hit"):
        shared = Client().get(path)
        assert shared[STATUS] == status and "Cache-Control" not in shared
    alice = Client()
    alice.force_login(User.objects.create_user("alice", password="pw"))
    assert alice.get(path)["Cache-Control"] == "private, no-cache"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_responses_that_are_not_stored_get_no_downstream_headers():
    for path in ("/cookie/", "/headers/?status=404", "/csrf/"):
        response = Client().get(path)
        assert response[STATUS] == "miss"
        assert "Cache-Control" not in response and "Age" not in response, path
    with override_settings(JIMMY_PAGE_DISABLED=True):
        assert "Cache-Control" not in Client().get("/page/")


@pytest.mark.parametrize(
    "value",
    [{"max_age": 1}, {"max-age": -1}, {"s-maxage": "60"}, {"stale-if-error": True}],
)
def test_a_malformed_setting_is_a_system_check_error(value):
    with override_settings(JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=value):
        assert [error.id for error in check_settings()] == ["jimmypage.E009"]


def test_a_setting_that_is_not_a_dict_is_a_type_error():
    with override_settings(JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL="max-age=60"):
        assert [error.id for error in check_settings()] == ["jimmypage.E001"]


@pytest.mark.parametrize(
    "view_headers",
    [{}, {"Cache-Control": "public, max-age=300"}, {"Expires": "Thu, 01 Jan 2037 00:00:00 GMT"}],
    ids=["none", "cache-control", "expires"],
)
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "one-visitor"])
@override_settings(JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL=SITE_ASKS)
def test_headers_set_in_djangos_store_are_those_set_through_its_checks(
    monkeypatch, shared, view_headers
):
    def applied() -> list:
        response = HttpResponse(b"page", headers=view_headers)
        downstream.apply(response, shared=shared, age=7.9, fresh=True)
        return [list(response.headers.items()), downstream.added_headers(response)]

    assert entries.header_store(HttpResponse()) is not None, "Django keeps headers otherwise"
    as_stored = applied()
    monkeypatch.setattr(entries, "_HEADERS_STORE", False)
    assert entries.header_store(HttpResponse()) is None
    assert applied() == as_stored
    assert ("Age", "7") in as_stored[0]
