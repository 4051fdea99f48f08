"""Validators and conditional requests answered from the cache (RFC 9110 8.8, 13, 15.4.5).

In-process, through Django's test client and the test site's middleware; the same rules over
HTTP, with a real server and client, are in ``tests/live/test_http.py``.
"""

import gzip
import hashlib
import types

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings
from django.utils.http import http_date, parse_http_date

from jimmypage import backend, conditional, entries, keys
from tests import stack_counter
from tests.testapp.models import Article, Tag
from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = pytest.mark.usefixtures("clean_state")
with_status = override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
# Headers a view sets through /headers/?h=Name:value.
OWN = "/headers/?h=Content-Location:/here/&h=Expires:Thu, 01 Jan 2037 00:00:00 GMT"


def get(path, client=None, **headers):
    return (client or Client()).get(path, **headers)


def body_etag(content: bytes) -> str:
    """The strong tag Django's ConditionalGetMiddleware would give this body."""
    return f'"{hashlib.md5(content, usedforsecurity=False).hexdigest()}"'


@with_status
def test_a_stored_page_has_a_strong_etag_and_last_modified_and_a_hit_keeps_them():
    miss = get("/page/")
    assert miss[STATUS] == "miss"
    assert miss["ETag"] == body_etag(miss.content)
    assert abs(parse_http_date(miss["Last-Modified"]) - parse_http_date(http_date())) <= 2
    assert "Age" not in miss
    hit = get("/page/")
    assert hit[STATUS] == "hit"
    assert (hit["ETag"], hit["Last-Modified"]) == (miss["ETag"], miss["Last-Modified"])
    assert int(hit["Age"]) >= 0


@with_status
def test_the_etag_is_computed_once_when_stored_and_kept_in_the_entry(monkeypatch):
    digests = []
    real = conditional.set_response_etag
    monkeypatch.setattr(conditional, "set_response_etag", lambda r: digests.append(1) or real(r))
    miss = get("/page/")
    for _ in range(3):
        assert get("/page/", HTTP_IF_NONE_MATCH='"other"')[STATUS] == "hit"
    assert digests == [1]
    entry = backend.get(keys.base_key(RequestFactory().get("/page/")))
    assert ("ETag", miss["ETag"]) in entry[2]


@with_status
def test_a_views_own_etag_and_last_modified_win():
    path = '/headers/?h=ETag:"v1"&h=Last-Modified:Wed, 21 Oct 2015 07:28:00 GMT'
    miss = get(path)
    assert miss["ETag"] == '"v1"' and miss["Last-Modified"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    hit = get(path, HTTP_IF_NONE_MATCH='"v1"')
    assert hit.status_code == 304 and hit[STATUS] == "hit"
    old = get(path, HTTP_IF_MODIFIED_SINCE="Wed, 21 Oct 2015 07:28:00 GMT")
    assert old.status_code == 304
    older = get(path, HTTP_IF_MODIFIED_SINCE="Wed, 21 Oct 2015 07:27:59 GMT")
    assert older.status_code == 200 and older.content == b"headers"


@with_status
def test_if_none_match_on_a_hit_is_a_304_with_the_headers_of_rfc_9110_15_4_5():
    miss = get(OWN)
    hit = get(OWN, HTTP_IF_NONE_MATCH=miss["ETag"])
    assert hit.status_code == 304 and hit.content == b""
    assert hit[STATUS] == "hit"
    for name in ("ETag", "Last-Modified", "Content-Location", "Expires"):
        assert hit[name] == miss[name], name
    assert "Cache-Control" not in hit, "the view's own Expires decides"
    assert "Age" in hit
    assert "Content-Type" not in hit
    assert RENDERS["headers_page"] == 1, "the view did not run"


@with_status
def test_a_304_keeps_vary():
    get("/vary/", HTTP_ACCEPT="text/html")
    etag = get("/vary/", HTTP_ACCEPT="text/html")["ETag"]
    hit = get("/vary/", HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=etag)
    assert hit.status_code == 304 and "Accept" in hit["Vary"]
    other = get("/vary/", HTTP_ACCEPT="text/plain", HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200 and other.content == b"accept=text/plain"


@with_status
def test_the_comparison_is_weak_and_star_matches_any_current_page():
    etag = get("/page/")["ETag"]
    assert get("/page/", HTTP_IF_NONE_MATCH=f'"x", {etag}').status_code == 304
    weak = get("/page/", HTTP_IF_NONE_MATCH=f"W/{etag}")
    assert weak.status_code == 304
    assert weak["ETag"] == f"W/{etag}", "the tag as the client holds it (a gzipped copy)"
    assert "Accept-Encoding" in weak["Vary"]
    assert get("/page/", HTTP_IF_NONE_MATCH="*").status_code == 304
    other = get("/page/", HTTP_IF_NONE_MATCH='"x", W/"y"')
    assert other.status_code == 200 and other["ETag"] == etag and other.content


@with_status
def test_if_modified_since_and_its_precedence():
    last_modified = get("/page/")["Last-Modified"]
    assert get("/page/", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    before = http_date(parse_http_date(last_modified) - 10)
    assert get("/page/", HTTP_IF_MODIFIED_SINCE=before).status_code == 200
    assert get("/page/", HTTP_IF_MODIFIED_SINCE="not a date").status_code == 200
    # If-None-Match decides when present (RFC 9110 13.1.3): a tag that does not match wins.
    both = get("/page/", HTTP_IF_NONE_MATCH='"x"', HTTP_IF_MODIFIED_SINCE=last_modified)
    assert both.status_code == 200


@with_status
def test_if_match_that_fails_on_a_hit_is_a_412():
    etag = get("/page/")["ETag"]
    assert get("/page/", HTTP_IF_MATCH=etag).status_code == 200
    assert get("/page/", HTTP_IF_MATCH='"x"').status_code == 412


@with_status
def test_head_is_answered_like_get():
    etag = get("/page/")["ETag"]
    head = Client().head("/page/", headers={"If-None-Match": etag})
    assert head.status_code == 304 and head[STATUS] == "hit" and head["ETag"] == etag


@with_status
def test_a_miss_or_a_bypass_is_never_a_304():
    path = '/headers/?h=ETag:"v1"'
    miss = get(path, HTTP_IF_NONE_MATCH='"v1"')
    assert miss.status_code == 200 and miss[STATUS] == "miss" and miss.content == b"headers"
    with override_settings(JIMMY_PAGE_DISABLED=True):
        bypass = get(path, HTTP_IF_NONE_MATCH='"v1"')
    assert bypass.status_code == 200 and bypass[STATUS] == "bypass"
    assert get(path, HTTP_IF_NONE_MATCH='"v1"').status_code == 304


def _logged_in(name):
    client = Client()
    client.force_login(User.objects.create_user(name, password="pw"))
    return client


@with_status
def test_another_visitors_tag_never_gets_a_304_from_someone_elses_page():
    alice, bob = _logged_in("alice"), _logged_in("bob")
    # Pages that are the same for everyone have the same tag, but each visitor has their own.
    etag = get('/headers/?h=ETag:"same"', alice)["ETag"]
    first = get('/headers/?h=ETag:"same"', bob, HTTP_IF_NONE_MATCH=etag)
    assert first.status_code == 200 and first[STATUS] == "miss"
    anonymous = get('/headers/?h=ETag:"same"', HTTP_IF_NONE_MATCH=etag)
    assert anonymous.status_code == 200 and anonymous[STATUS] == "miss"
    assert get('/headers/?h=ETag:"same"', bob, HTTP_IF_NONE_MATCH=etag).status_code == 304


@with_status
def test_a_stale_page_keeps_its_tag_until_the_page_changes(settle):
    first = get("/page/")
    Tag.objects.create(name="unrelated")  # global mode: stale, though the page will not change
    stale = get("/page/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert stale.status_code == 304 and stale[STATUS] == "stale"
    assert stale["Cache-Control"] == "max-age=0"
    settle()
    same = get("/page/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert same.status_code == 304 and same[STATUS] == "hit", "same body, same tag"
    Article.objects.create(title="news")
    assert get("/page/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304  # stale, as held
    settle()
    changed = get("/page/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed[STATUS] == "hit"
    assert b"articles=news" in changed.content and changed["ETag"] != first["ETag"]
    assert get("/page/", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


@with_status
def test_the_age_counts_from_the_render(monkeypatch):
    get("/page/")
    real = entries.time.time
    monkeypatch.setattr(entries, "time", types.SimpleNamespace(time=lambda: real() + 100))
    hit = get("/page/")
    assert 100 <= int(hit["Age"]) <= 102


@override_settings(
    JIMMY_PAGE_STATUS_HEADER=STATUS,
    MIDDLEWARE=["django.middleware.http.ConditionalGetMiddleware", *settings.MIDDLEWARE],
)
def test_with_djangos_conditional_get_middleware():
    miss = get("/page/")
    assert miss["ETag"] == body_etag(miss.content), "one tag, whoever computes it"
    # Django's middleware answers the miss after the fact; jimmypage answers hits itself.
    assert get("/page/", HTTP_IF_NONE_MATCH=miss["ETag"]).status_code == 304
    headers = {"HTTP_IF_NONE_MATCH": f"W/{miss['ETag']}"}
    assert get("/page/", **headers).status_code == 304
    late = get('/headers/?h=ETag:"v2"', HTTP_IF_NONE_MATCH='"v2"')
    assert late.status_code == 304 and RENDERS["headers_page"] == 1


GZIP = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]


@pytest.mark.parametrize(
    "middleware",
    [GZIP, ["django.middleware.http.ConditionalGetMiddleware", *GZIP]],
    ids=["gzip", "gzip-and-conditional-get"],
)
def test_with_gzip_the_weak_tag_of_the_compressed_page_matches(middleware):
    with override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, MIDDLEWARE=middleware):
        miss = get("/long/", HTTP_ACCEPT_ENCODING="gzip")
        assert miss["Content-Encoding"] == "gzip" and "Accept-Encoding" in miss["Vary"]
        strong = body_etag(gzip.decompress(miss.content))
        assert miss["ETag"] == f"W/{strong}"
        hit = get("/long/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=miss["ETag"])
        assert hit.status_code == 304 and hit[STATUS] == "hit"
        assert hit["ETag"] == miss["ETag"] and "Accept-Encoding" in hit["Vary"]
        plain = get("/long/", HTTP_IF_NONE_MATCH=strong)
        assert plain.status_code == 304 and plain["ETag"] == strong


EARLY = override_settings(
    JIMMY_PAGE_STATUS_HEADER=STATUS,
    MIDDLEWARE=[
        "jimmypage.middleware.AnonymousHitMiddleware",
        "tests.stack_counter.CountingMiddleware",
        "django.middleware.gzip.GZipMiddleware",
        *settings.MIDDLEWARE,
    ],
)


@pytest.fixture
def early_counts():
    from jimmypage import middleware

    stack_counter.reached.clear()
    middleware._vary_names.clear()


@EARLY
@pytest.mark.usefixtures("early_counts")
def test_the_early_middleware_answers_conditional_requests_before_the_stack(monkeypatch):
    miss = get("/long/", HTTP_ACCEPT_ENCODING="gzip")
    assert stack_counter.reached == ["/long/"], "through the stack: the copy is kept"
    early = get("/long/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=miss["ETag"])
    assert early.status_code == 304 and early[STATUS] == "hit" and early.content == b""
    assert early["ETag"] == miss["ETag"] and "Accept-Encoding" in early["Vary"]
    assert early["Cache-Control"] == "max-age=0"
    assert stack_counter.reached == ["/long/"], "answered before the stack"
    real = entries.time.time
    monkeypatch.setattr(entries, "time", types.SimpleNamespace(time=lambda: real() + 50))
    with override_settings(JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL={"max-age": 10}):
        aged = get("/long/", HTTP_ACCEPT_ENCODING="gzip")
    assert stack_counter.reached == ["/long/"]
    assert 50 <= int(aged["Age"]) <= 52
    assert aged["Cache-Control"] == f"max-age={int(aged['Age']) + 10}", "not the copy's own"


@EARLY
@pytest.mark.usefixtures("early_counts")
def test_the_early_middleware_keeps_a_views_own_cache_control():
    path = "/headers/?h=Cache-Control:max-age=5"
    get(path)
    early = get(path)
    assert stack_counter.reached == ["/headers/"]
    assert early["Cache-Control"] == "max-age=5"


def test_is_shared_agrees_with_visitor(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/")
    assert keys.is_shared(request) and keys.visitor(request) == keys.ANONYMOUS
    request.user = AnonymousUser()
    request.session = SessionStore()
    assert keys.is_shared(request) and keys.visitor(request) == keys.ANONYMOUS
    request.session["cart"] = "boots"
    assert not keys.is_shared(request) and keys.visitor(request) != keys.ANONYMOUS
    request = rf.get("/", HTTP_AUTHORIZATION="Basic eDp5")
    assert not keys.is_shared(request) and keys.visitor(request) != keys.ANONYMOUS
    request = rf.get("/")
    request.user = User.objects.create_user("carol")
    assert not keys.is_shared(request) and keys.visitor(request) != keys.ANONYMOUS


@with_status
@pytest.mark.parametrize("path", ["/template/", "/async/", "/class/"])
def test_template_async_and_class_based_pages_alike(path):
    miss = get(path)
    assert miss[STATUS] == "miss"
    assert miss["ETag"] == body_etag(miss.content) and miss["Cache-Control"] == "max-age=0"
    hit = get(path, HTTP_IF_NONE_MATCH=miss["ETag"])
    assert hit.status_code == 304 and hit[STATUS] == "hit" and hit.content == b""
    assert hit["Cache-Control"] == "max-age=0"
