"""Keys: who shares a page with whom, and keys that stay valid whatever the request holds."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import User
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from django.utils.cache import has_vary_header
from django.utils.functional import SimpleLazyObject, empty

from jimmypage import conf, keys
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")
MEMCACHED_SAFE = re.compile(r"[!-~]{1,200}")  # printable ASCII, no spaces or controls


def logged_in(username):
    user = User.objects.create_user(username, password="pw")
    client = Client()
    client.force_login(user)
    return client


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_second_user_never_sees_the_first_users_page():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"user=alice" in alice.get("/page/").content
    bob_page = bob.get("/page/")
    assert bob_page[STATUS] == "miss" and b"user=bob" in bob_page.content
    anonymous = Client().get("/page/")
    assert anonymous[STATUS] == "miss" and b"user=anonymous" in anonymous.content
    assert b"user=alice" in alice.get("/page/").content
    assert alice.get("/page/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_anonymous_visitors_without_session_share_one_page():
    assert Client().get("/page/")[STATUS] == "miss"
    assert Client().get("/page/")[STATUS] == "hit"
    assert RENDERS["page"] == 1


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_one_anonymous_visitors_cart_never_reaches_another():
    shopper = Client()
    shopper.get("/cart/put/umbrella/")
    mine = shopper.get("/cart/")
    assert b"cart=umbrella" in mine.content
    other = Client().get("/cart/")
    assert b"cart=None" in other.content and other[STATUS] == "miss"
    another_shopper = Client()
    another_shopper.get("/cart/put/boots/")
    assert b"cart=boots" in another_shopper.get("/cart/").content
    assert b"cart=umbrella" in shopper.get("/cart/").content
    assert shopper.get("/cart/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_stale_or_unknown_session_cookie_shares_the_anonymous_page():
    Client().get("/page/")
    stranger = Client()
    stranger.cookies["sessionid"] = "no-such-session-" + "x" * 16
    response = stranger.get("/page/")
    assert response[STATUS] == "hit" and b"user=anonymous" in response.content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_authorization_header_never_shares():
    client = Client()
    assert b"authorization=None" in client.get("/authz/").content
    with_token = client.get("/authz/", HTTP_AUTHORIZATION="Bearer one")
    assert with_token[STATUS] == "miss" and b"Bearer one" in with_token.content
    other = client.get("/authz/", HTTP_AUTHORIZATION="Bearer two")
    assert other[STATUS] == "miss" and b"Bearer two" in other.content
    assert client.get("/authz/")[STATUS] == "hit"
    assert b"Bearer one" in client.get("/authz/", HTTP_AUTHORIZATION="Bearer one").content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_repeated_query_parameters_keep_every_value():
    client = Client()
    one = client.get("/page/?a=1&a=2")
    two = client.get("/page/?a=1&a=3")
    assert one[STATUS] == two[STATUS] == "miss"
    assert b"['1', '2']" in one.content and b"['1', '3']" in two.content
    assert client.get("/page/?a=1")[STATUS] == "miss"
    assert client.get("/page/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_the_query_string_is_keyed_as_it_was_spelled():
    """The view can show the query as sent (get_full_path), so each spelling is its own page."""
    client = Client()
    spellings = [
        ("a=1&b=2", "b=2&a=1"),
        ("a", "a="),
        ("q=%FF", "q=%EF%BF%BD"),
        ("q=%ZZ", "q=%25ZZ"),
    ]
    for first, second in spellings:
        one = client.get(f"/page/?{first}")
        two = client.get(f"/page/?{second}")
        assert two[STATUS] == "miss", (first, second)
        assert f"full_path=/page/?{second}".encode() in two.content
        assert client.get(f"/page/?{first}")[STATUS] == "hit"
        assert f"full_path=/page/?{first}".encode() in one.content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_language_keys_the_page():
    client = Client()
    english = client.get("/page/", HTTP_ACCEPT_LANGUAGE="en")
    french = client.get("/page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert b"lang=en" in english.content and b"lang=fr" in french.content
    assert french[STATUS] == "miss"
    assert client.get("/page/", HTTP_ACCEPT_LANGUAGE="fr")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_host_and_scheme_key_the_page():
    client = Client()
    client.get("/page/")
    other_host = client.get("/page/", HTTP_HOST="example.com")
    assert other_host[STATUS] == "miss" and b"host=example.com" in other_host.content
    assert client.get("/page/", secure=True)[STATUS] == "miss"
    assert client.get("/page/", HTTP_HOST="example.com")[STATUS] == "hit"


def test_disallowed_host_passes_through_as_djangos_400():
    response = Client().get("/page/", HTTP_HOST="evil.invalid")
    assert response.status_code == 400
    assert RENDERS["page"] == 0


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_script_prefix_keys_the_page():
    client = Client()
    root = client.get("/page/")
    mounted = client.get("/page/", SCRIPT_NAME="/blog")
    assert root[STATUS] == mounted[STATUS] == "miss"
    assert b"path=/blog/page/" in mounted.content


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_vary_headers_of_the_response_key_the_page():
    client = Client()
    html = client.get("/vary/", HTTP_ACCEPT="text/html")
    json = client.get("/vary/", HTTP_ACCEPT="application/json")
    assert html[STATUS] == json[STATUS] == "miss"
    assert b"accept=application/json" in json.content
    again = client.get("/vary/", HTTP_ACCEPT="text/html")
    assert again[STATUS] == "hit" and b"accept=text/html" in again.content


@pytest.mark.parametrize(
    "path",
    ["/" + "a" * 5000, "/caf\u00e9/\u2603", "/%ff%fe/x y", "/\udcff", "/a\nb\x00c"],
)
def test_keys_are_fixed_length_and_memcached_safe(path):
    request = RequestFactory().get("/", {"q": ["x" * 3000, "\u2603"]})
    request.path = request.path_info = path  # also paths no client could send
    request.user = None
    key = keys.base_key(request)
    assert MEMCACHED_SAFE.fullmatch(key)
    variant = keys.variant_key(key, request, ("HTTP_ACCEPT",))
    assert MEMCACHED_SAFE.fullmatch(variant) and len(variant) < 200


@override_settings(JIMMY_PAGE_CACHE_PREFIX="my site with spaces and a very long prefix" * 3)
def test_unsafe_prefix_is_hashed():
    request = RequestFactory().get("/")
    assert MEMCACHED_SAFE.fullmatch(keys.base_key(request))


@override_settings(JIMMY_PAGE_CACHE_PREFIX="siteone")
def test_prefix_separates_sites():
    request = RequestFactory().get("/")
    one = keys.base_key(request)
    with override_settings(JIMMY_PAGE_CACHE_PREFIX="sitetwo"):
        assert keys.base_key(request) != one


def through_auth(request):
    """``request`` as Django's session and auth middleware leave it for the view."""
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


def with_session_of(client):
    """A request carrying ``client``'s session cookie."""
    request = RequestFactory().get("/page/")
    name = settings.SESSION_COOKIE_NAME
    request.COOKIES[name] = client.cookies[name].value
    return request


def test_a_cookieless_visitor_is_anonymous_without_loading_the_user():
    request = through_auth(RequestFactory().get("/page/"))
    assert keys.visitor(request) == keys.ANONYMOUS and keys.is_shared(request)
    assert vars(request.user)["_wrapped"] is empty  # never loaded
    assert request.session.accessed  # read as loading would: the response gets Vary: Cookie
    assert not request.user.is_authenticated  # and loading it later agrees


def test_a_signed_in_session_loads_its_user():
    user = User.objects.create_user("carol", password="pw")
    client = Client()
    client.force_login(user)
    request = through_auth(with_session_of(client))
    assert keys.is_signed_in(request)
    assert keys.visitor(request)[0][:2] == ("user", str(user.pk))


@override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
)
def test_a_session_of_a_backend_no_longer_listed_is_anonymous():
    user = User.objects.create_user("dave", password="pw")
    client = Client()
    with override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"]):
        client.force_login(user)
    request = through_auth(with_session_of(client))
    assert not keys.is_signed_in(request) and not request.user.is_authenticated


def test_a_user_set_another_way_is_asked_even_without_a_session_user():
    user = User.objects.create_user("erin", password="pw")
    request = through_auth(RequestFactory().get("/page/"))
    request.user = SimpleLazyObject(lambda: user)  # a token-auth middleware, say
    assert keys.is_signed_in(request) and not keys.is_shared(request)
    request = through_auth(RequestFactory().get("/page/"))
    request._cached_user = user  # what Django's lazy user would return
    assert keys.is_signed_in(request)


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_an_anonymous_hit_keeps_the_vary_cookie_of_its_miss():
    miss, hit = Client().get("/page/"), Client().get("/page/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert has_vary_header(miss, "Cookie") and has_vary_header(hit, "Cookie")


def test_an_accepted_host_is_checked_once_and_a_refused_one_every_time(monkeypatch):
    checks = []
    check = HttpRequest.get_host
    monkeypatch.setattr(HttpRequest, "get_host", lambda self: checks.append(1) or check(self))
    factory = RequestFactory()
    assert keys.host(factory.get("/", HTTP_HOST="example.com")) == "example.com"
    assert keys.host(factory.get("/", HTTP_HOST="example.com")) == "example.com"
    assert len(checks) == 1
    for _ in range(2):
        with pytest.raises(DisallowedHost):
            keys.host(factory.get("/", HTTP_HOST="evil.invalid"))
    assert len(checks) == 3
    # A new setting: asked again.
    with override_settings(ALLOWED_HOSTS=["elsewhere.example"]), pytest.raises(DisallowedHost):
        keys.host(factory.get("/", HTTP_HOST="example.com"))


@override_settings(USE_X_FORWARDED_HOST=True, ALLOWED_HOSTS=["proxy.example", "site.example"])
def test_a_forwarded_host_is_always_asked_of_get_host():
    factory = RequestFactory()
    forwarded = factory.get("/", HTTP_HOST="proxy.example", HTTP_X_FORWARDED_HOST="site.example")
    assert keys.host(forwarded) == "site.example"
    refused = factory.get("/", HTTP_HOST="proxy.example", HTTP_X_FORWARDED_HOST="evil.invalid")
    with pytest.raises(DisallowedHost):
        keys.host(refused)


def test_a_request_class_with_its_own_get_host_is_always_asked():
    class TenantRequest(WSGIRequest):
        def get_host(self):
            return "tenant-" + super().get_host()

    request = RequestFactory().get("/", HTTP_HOST="example.com")
    request.__class__ = TenantRequest
    assert keys.host(request) == keys.host(request) == "tenant-example.com"


@override_settings(ALLOWED_HOSTS=["*"])
def test_the_hosts_remembered_are_bounded(monkeypatch):
    monkeypatch.setattr(keys, "_ACCEPTED_HOSTS_MAX", 3)
    factory = RequestFactory()
    for number in range(10):
        name = f"host{number}.example"
        assert keys.host(factory.get("/", HTTP_HOST=name)) == name
    assert len(conf.memo(" accepted hosts")) <= 3
