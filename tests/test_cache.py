"""The request path of ``cache_page``: miss, hit, stale, bypass, and the decorator's forms."""

import pytest
from django.test import Client, override_settings

import jimmypage
from jimmypage.cache import cache_page
from tests.testapp.models import Article
from tests.testapp.views import RENDERS, first, page

pytestmark = pytest.mark.usefixtures("clean_state")

STATUS = "X-Jimmy-Page"


@pytest.fixture
def client():
    return Client()


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_first_visit_renders_then_second_is_a_hit(client):
    miss = client.get("/page/")
    hit = client.get("/page/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert hit.content == miss.content
    assert RENDERS["page"] == 1
    assert hit.jimmypage_status == "hit" and hit.jimmypage_age >= 0


def test_status_header_is_absent_unless_configured(client):
    client.get("/page/")
    response = client.get("/page/")
    assert STATUS not in response
    assert response.jimmypage_status == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_write_makes_page_stale_and_one_refresh_makes_it_fresh(client, settle):
    client.get("/page/")
    Article.objects.create(title="new")
    stale = client.get("/page/")
    assert stale[STATUS] == "stale"
    assert b"articles=new" not in stale.content, "a stale page is the old page"
    settle()
    fresh = client.get("/page/")
    assert fresh[STATUS] == "hit"
    assert b"articles=new" in fresh.content
    assert RENDERS["page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_invalidate_makes_every_page_stale(client, settle):
    client.get("/page/")
    client.get("/first/")
    jimmypage.invalidate()
    assert client.get("/page/")[STATUS] == "stale"
    assert client.get("/first/")[STATUS] == "stale"
    settle()
    jimmypage.invalidate(Article, "some_table")
    assert client.get("/page/")[STATUS] == "stale"


@override_settings(JIMMY_PAGE_DISABLED=True, JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_disabled_bypasses(client):
    assert client.get("/page/")[STATUS] == "bypass"
    assert client.get("/page/")[STATUS] == "bypass"
    assert RENDERS["page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_post_bypasses_and_does_not_store(client):
    assert client.post("/page/")[STATUS] == "bypass"
    assert client.get("/page/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_head_is_answered_from_the_get_entry(client):
    get = client.get("/page/")
    head = client.head("/page/")
    assert head[STATUS] == "hit"
    assert RENDERS["page"] == 1
    assert head["Content-Type"] == get["Content-Type"]


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_head_miss_is_not_stored(client):
    assert client.head("/page/")[STATUS] == "miss"
    assert client.get("/page/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_reused_decorator_instance_keeps_views_apart(client):
    one = client.get("/first/")
    two = client.get("/second/")
    assert one.content.startswith(b"first|") and two.content.startswith(b"second|")
    assert client.get("/first/").content.startswith(b"first|")
    assert client.get("/second/")[STATUS] == "hit"
    assert (RENDERS["first"], RENDERS["second"]) == (1, 1)


def test_decorator_keeps_view_attributes():
    assert first.__name__ == "first"
    assert page.__wrapped__.__name__ == "page"

    def view(request):
        return None

    view.csrf_exempt = True
    view.custom = "kept"
    wrapped = cache_page(timeout=5)(view)
    assert wrapped.csrf_exempt is True and wrapped.custom == "kept"


def test_csrf_exempt_still_works_through_the_decorator():
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    @cache_page
    def exempt(request):
        return __import__("django.http").http.HttpResponse("posted")

    urlpatterns = [path("exempt/", exempt)]
    module = type("urls", (), {"urlpatterns": urlpatterns})
    with override_settings(ROOT_URLCONF=module):
        response = Client(enforce_csrf_checks=True).post("/exempt/")
    assert response.status_code == 200


def test_positional_timeout_like_djangos_decorator():
    decorator = cache_page(30)
    assert decorator.timeout == 30


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_view_kwargs_are_passed_and_keyed_by_path(client):
    assert b"slug=a|" in client.get("/slug/a/").content
    assert b"slug=b|" in client.get("/slug/b/").content
    assert client.get("/slug/a/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_template_response_is_rendered_once_then_stored(client):
    Article.objects.create(title="tmpl")
    miss = client.get("/template/")
    hit = client.get("/template/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert b"<li>tmpl</li>" in hit.content and hit.content == miss.content
    assert RENDERS["template_page"] == 1


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_async_view(client, settle):
    Article.objects.create(title="one")
    assert client.get("/async/")[STATUS] == "miss"
    hit = client.get("/async/")
    assert hit[STATUS] == "hit" and b"articles=one" in hit.content
    Article.objects.create(title="two")
    assert client.get("/async/")[STATUS] == "stale"
    settle()
    fresh = client.get("/async/")
    assert fresh[STATUS] == "hit" and b"articles=one,two" in fresh.content
    assert RENDERS["async_page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_async_view_under_the_async_client():
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()
    assert async_to_sync(client.get)("/async/")[STATUS] == "miss"
    assert async_to_sync(client.get)("/async/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_class_based_view_with_method_decorator(client, settle):
    Article.objects.create(title="cbv")
    assert client.get("/class/?q=x")[STATUS] == "miss"
    hit = client.get("/class/?q=x")
    assert hit[STATUS] == "hit" and b"q=x" in hit.content
    Article.objects.create(title="cbv2")
    assert client.get("/class/?q=x")[STATUS] == "stale"
    settle()
    fresh = client.get("/class/?q=x")
    assert b"<li>cbv2</li>" in fresh.content and b"q=x" in fresh.content
    assert RENDERS["class_page"] == 2


@pytest.mark.parametrize(
    ("seconds", "decorator_timeout", "expected"),
    [(0, None, None), (300, None, 300), (300, 60, 60), (300, 0, None)],
)
def test_timeouts(seconds, decorator_timeout, expected):
    from jimmypage import conf

    with override_settings(JIMMY_PAGE_CACHE_SECONDS=seconds):
        assert conf.entry_timeout(decorator_timeout) == expected


@override_settings(JIMMY_PAGE_CACHE_SECONDS=0)
def test_cache_seconds_zero_stores_without_expiry(client, monkeypatch):
    from jimmypage import backend

    stored = []
    real_put = backend.put
    monkeypatch.setattr(backend, "put", lambda k, v, t: stored.append(t) or real_put(k, v, t))
    client.get("/page/")
    assert stored == [None]


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, JIMMY_PAGE_CACHE_SECONDS=1)
def test_cache_seconds_expires_entries(client):
    import time

    client.get("/page/")
    time.sleep(1.2)
    assert client.get("/page/")[STATUS] == "miss"
