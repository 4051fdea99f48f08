"""``AnonymousHitMiddleware`` answers cookieless visitors before the stack, only when fresh."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests import stack_counter
from tests.counting import round_trips
from tests.testapp.models import Article, Tag
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")

early = override_settings(
    MIDDLEWARE=[
        "jimmypage.middleware.AnonymousHitMiddleware",
        "tests.stack_counter.CountingMiddleware",
        *settings.MIDDLEWARE,
    ],
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)


@pytest.fixture(autouse=True)
def fresh_counts():
    from jimmypage import middleware

    stack_counter.reached.clear()
    stack_counter.refreshed.clear()
    middleware._vary_names.clear()


def get(path, client=None, **extra):
    return (client or Client()).get(path, **extra)


@early
def test_a_fresh_page_is_answered_before_the_stack():
    first = get("/page/")
    second = get("/page/")
    assert first[STATUS] == "miss" and second[STATUS] == "hit"
    assert second.content == first.content
    assert stack_counter.reached == ["/page/"], "the second request never entered the stack"
    assert RENDERS["page"] == 1
    assert second["Vary"] == first["Vary"], "the whole response was kept, middleware included"


@early
def test_an_early_hit_is_one_round_trip():
    get("/page/")
    with round_trips() as counted:
        assert get("/page/")[STATUS] == "hit"
    assert counted == {"get_many": 1}
    assert stack_counter.reached == ["/page/"]


@early
def test_a_stale_copy_goes_through_the_stack_and_the_refresh(settle):
    get("/page/")
    get("/page/")
    Article.objects.create(title="new")
    stale = get("/page/")
    assert stale[STATUS] == "stale" and b"articles=new" not in stale.content
    settle()
    through = get("/page/")  # the copy is stale, the page is fresh again: copied anew
    assert through[STATUS] == "hit" and b"articles=new" in through.content
    again = get("/page/")
    assert again[STATUS] == "hit" and again.content == through.content
    assert stack_counter.reached == ["/page/"] * 3
    assert stack_counter.refreshed == ["/page/"], "the refresh went through the stack too"


@early
def test_visitors_with_cookies_or_authorization_always_go_through_the_stack():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.login(username="alice", password="pw")
    get("/page/")
    get("/page/")
    mine = alice.get("/page/")
    assert b"user=alice" in mine.content
    token = get("/authz/", HTTP_AUTHORIZATION="Bearer secret")
    assert b"Bearer secret" in token.content
    assert b"Bearer secret" not in get("/authz/").content
    assert b"user=anonymous" in get("/page/").content
    assert stack_counter.reached == ["/page/", "/page/", "/authz/", "/authz/"]


@early
def test_copies_are_kept_per_language():
    english = get("/page/", HTTP_ACCEPT_LANGUAGE="en")
    french = get("/page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert b"lang=en" in english.content and b"lang=fr" in french.content
    assert b"lang=fr" in get("/page/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert b"lang=en" in get("/page/", HTTP_ACCEPT_LANGUAGE="en").content
    assert get("/page/", HTTP_ACCEPT_LANGUAGE="en")[STATUS] == "hit"


@early
def test_pages_that_are_not_stored_are_not_copied():
    get("/cookie/")
    get("/csrf/")
    assert get("/cookie/")[STATUS] == "miss"
    assert get("/csrf/")[STATUS] == "miss"
    assert stack_counter.reached == ["/cookie/", "/csrf/", "/cookie/", "/csrf/"]


@early
def test_a_bad_host_is_djangos_400():
    assert get("/page/", HTTP_HOST="evil.invalid").status_code == 400


@early
def test_post_goes_through_the_stack():
    get("/page/")
    assert Client().post("/page/")[STATUS] == "bypass"


@early
@override_settings(JIMMY_PAGE_MODE="per-table")
def test_per_table_copies_go_stale_on_their_tables_only():
    get("/page/")
    assert get("/page/")[STATUS] == "hit"
    Tag.objects.create(name="unrelated")
    assert get("/page/")[STATUS] == "hit"
    assert stack_counter.reached == ["/page/"]
    Article.objects.create(title="related")
    assert get("/page/")[STATUS] == "stale"
    assert stack_counter.reached == ["/page/", "/page/"]


@early
@override_settings(JIMMY_PAGE_DISABLED=True)
def test_disabled_means_no_copies():
    get("/page/")
    assert get("/page/")[STATUS] == "bypass"


@override_settings(
    MIDDLEWARE=[
        "jimmypage.middleware.AnonymousHitMiddleware",
        "tests.stack_counter.CountingMiddleware",
        "tests.stack_counter.RawCookieMiddleware",
        *settings.MIDDLEWARE,
    ],
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)
def test_a_response_with_a_raw_set_cookie_header_is_never_copied():
    """A cookie one visitor was given must never be replayed to the next."""
    first = get("/page/?raw-cookie")
    second = get("/page/?raw-cookie")
    assert first["Set-Cookie"] == "visitor=one"
    assert second["Set-Cookie"] == "visitor=one", "set again by the middleware, not replayed"
    assert stack_counter.reached == ["/page/", "/page/"], "no copy answered the second visitor"
    assert RENDERS["page"] == 1, "cache_page stored the view's page, without the cookie"
