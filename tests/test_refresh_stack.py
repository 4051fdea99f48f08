"""A refresh goes through the site's middleware, as the visitor's request did, and changes
nothing of the visitor's."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from jimmypage import generations, keys, refresh
from tests import stack_counter
from tests.testapp import middleware as site_middleware
from tests.testapp.models import Article
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = [pytest.mark.usefixtures("clean_state"), pytest.mark.filterwarnings("ignore")]

with_site_middleware = override_settings(
    MIDDLEWARE=[
        *settings.MIDDLEWARE,
        "tests.stack_counter.CountingMiddleware",
        "tests.testapp.middleware.TenantMiddleware",
        "tests.testapp.middleware.GatekeeperMiddleware",
    ],
    JIMMY_PAGE_STATUS_HEADER=STATUS,
)


@pytest.fixture(autouse=True)
def open_gate():
    site_middleware.GATE["refresh"] = None
    stack_counter.reached.clear()
    stack_counter.refreshed.clear()
    yield
    site_middleware.GATE["refresh"] = None


def stale_then_refreshed(client, path, settle, **extra):
    """Visit ``path``, write, visit again (stale, which starts the refresh), wait for it."""
    client.get(path, **extra)
    Article.objects.create(title="new")
    assert client.get(path, **extra)[STATUS] == "stale"
    settle()
    return client.get(path, **extra)


@with_site_middleware
def test_a_refresh_has_what_the_sites_middleware_puts_on_a_request(settle):
    fresh = stale_then_refreshed(Client(), "/tenant/", settle, HTTP_X_TENANT="acme")
    assert fresh[STATUS] == "hit", "the refresh rendered and stored the page"
    assert b"tenant=acme" in fresh.content and b"articles=new" in fresh.content
    assert stack_counter.refreshed == ["/tenant/"]
    assert RENDERS["tenant_page"] == 2


@with_site_middleware
def test_a_refresh_in_another_language_keeps_it(settle):
    fresh = stale_then_refreshed(Client(), "/page/", settle, HTTP_ACCEPT_LANGUAGE="fr")
    assert fresh[STATUS] == "hit" and b"lang=fr" in fresh.content
    assert b"articles=new" in fresh.content
    english = Client().get("/page/", HTTP_ACCEPT_LANGUAGE="en")
    assert english[STATUS] == "miss", "the French refresh was stored under the French key only"


@with_site_middleware
def test_a_server_error_before_the_view_keeps_the_stale_page(settle):
    site_middleware.GATE["refresh"] = "503"
    client = Client()
    client.get("/page/")
    Article.objects.create(title="new")
    assert client.get("/page/")[STATUS] == "stale"
    settle()
    still = client.get("/page/")
    assert still[STATUS] == "stale" and b"articles=new" not in still.content


@with_site_middleware
def test_a_middleware_that_answers_otherwise_removes_the_stale_page(settle):
    site_middleware.GATE["refresh"] = "redirect"
    client = Client()
    client.get("/page/")
    Article.objects.create(title="new")
    assert client.get("/page/")[STATUS] == "stale"
    settle()
    site_middleware.GATE["refresh"] = None
    live = client.get("/page/")
    assert live[STATUS] == "miss" and b"articles=new" in live.content


@with_site_middleware
@pytest.mark.parametrize("storage", ["session.SessionStorage", "fallback.FallbackStorage"])
def test_a_refresh_never_consumes_the_visitors_messages(storage):
    """Messages that arrive between the stale hit and the refresh wait for the visitor.

    In the session, the refresh sees them and leaves the page for later; in a cookie, it never
    gets them (only the session and language cookies are replayed).
    """
    with override_settings(MESSAGE_STORAGE=f"django.contrib.messages.storage.{storage}"):
        refresh_with_a_message_waiting(storage)


def refresh_with_a_message_waiting(storage):
    visitor = Client()
    visitor.get("/cart/put/x/")  # a session of their own, so the page is theirs
    request = visitor.get("/messages/").wsgi_request
    Article.objects.create(title="new")
    visitor.get("/add-message/")
    snapshot = refresh.Snapshot.of(request, keys.base_key(request))
    lock = keys.lock_key(snapshot.key, generations.read())
    deferred = storage.startswith("session")
    assert refresh.run(snapshot, lock) == (refresh.DEFERRED if deferred else refresh.STORED)
    shown = visitor.get("/messages/")
    assert shown[STATUS] == "bypass" and b"hello" in shown.content


@with_site_middleware
@override_settings(SESSION_SAVE_EVERY_REQUEST=True)
def test_a_refresh_never_saves_the_visitors_session():
    visitor = Client()
    visitor.get("/cart/put/x/")
    request = visitor.get("/cart/").wsgi_request
    Article.objects.create(title="new")
    key = visitor.cookies[settings.SESSION_COOKIE_NAME].value
    saved = Session.objects.get(session_key=key).expire_date
    snapshot = refresh.Snapshot.of(request, keys.base_key(request))
    lock = keys.lock_key(snapshot.key, generations.read())
    assert refresh.run(snapshot, lock) == refresh.STORED
    assert stack_counter.refreshed == ["/cart/"]
    assert Session.objects.get(session_key=key).expire_date == saved
