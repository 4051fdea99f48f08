"""HTTP caching over real HTTP: a gunicorn server of the test site, a real client (httpx), and a
real Varnish (Debian's ``varnishd``) in front of it with ``docs/varnish/jimmypage.vcl``.

RFC 9110's conditional requests (13.1, 13.2.2, 15.4.5) answered by the server, then through
Varnish: pages kept there for ``s-maxage``, revalidated with the server by ``If-None-Match``,
banned when a write commits (per-table keys; everything on ``invalidate()``), and pages of one
visitor never shared. The servers (``conftest.py``) run in one cell of the matrix only: Python
3.11, Django 5.2, PostgreSQL and Redis.
"""

import re
import statistics
import time

import pytest
from django.test import Client

from jimmypage import invalidate, purge
from tests.live.support import PAGE, STATUS, raw_get
from tests.processes import until
from tests.testapp.models import Article, Tag

pytestmark = [pytest.mark.usefixtures("clean_state"), pytest.mark.backend_server]


# The server alone ------------------------------------------------------------------------------


def test_a_revalidated_page_is_headers_only(live):
    first = live.direct.get(PAGE)
    assert first.status_code == 200 and first.headers[STATUS] == "miss"
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), "a strong tag"
    head, body = raw_get(str(live.direct.base_url), PAGE, If_None_Match=etag)
    assert head.startswith(b"HTTP/1.1 304 ") and body == b""
    full_head, full_body = raw_get(str(live.direct.base_url), PAGE)
    assert full_head.startswith(b"HTTP/1.1 200 ") and full_body == first.content
    print(
        f"\nrevalidated page: {len(head)} bytes (headers only) instead of "
        f"{len(full_head) + len(full_body)} ({len(full_body)} of body)"
    )


def test_a_304_carries_the_headers_of_rfc_9110_15_4_5(live):
    first = live.direct.get(PAGE)
    answer = live.direct.get(PAGE, headers={"If-None-Match": first.headers["ETag"]})
    assert answer.status_code == 304 and answer.content == b""
    assert answer.headers[STATUS] == "hit"
    assert answer.headers["ETag"] == first.headers["ETag"]
    assert answer.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert answer.headers["Vary"] == first.headers["Vary"]
    assert "Date" in answer.headers and "Age" in answer.headers
    control = answer.headers["Cache-Control"]
    assert control.startswith("max-age=0, s-maxage=") and "stale-while-revalidate=30" in control
    assert "content-type" not in answer.headers


def test_tags_compare_weakly_and_star_matches(live):
    etag = live.direct.get(PAGE).headers["ETag"]
    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        assert live.direct.get(PAGE, headers={"If-None-Match": held}).status_code == 304, held
    other = live.direct.get(PAGE, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content


def test_if_modified_since_and_head(live):
    first = live.direct.get(PAGE)
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert live.direct.get(PAGE, headers=since).status_code == 304
    head = live.direct.head(PAGE, headers={"If-None-Match": first.headers["ETag"]})
    assert head.status_code == 304 and head.content == b""
    plain = live.direct.head(PAGE)
    assert plain.status_code == 200 and plain.content == b""
    assert plain.headers["ETag"] == first.headers["ETag"]


def test_a_stale_page_keeps_its_tag_until_the_refresh_changes_it(live):
    first = live.direct.get(PAGE)
    held = {"If-None-Match": first.headers["ETag"]}
    Article.objects.create(title="stale-test")
    stale = live.direct.get(PAGE, headers=held)
    assert stale.headers[STATUS] in ("stale", "hit")
    if stale.headers[STATUS] == "stale":  # not refreshed yet: the page served is the held one
        assert stale.status_code == 304
        assert stale.headers["Cache-Control"].startswith("max-age=0, s-maxage=0")

    def changed():
        answer = live.direct.get(PAGE, headers=held)
        return answer if answer.headers[STATUS] == "hit" else None

    fresh = until(changed, 30, "the refreshed page")
    assert fresh.status_code == 200 and b"articles=stale-test" in fresh.content
    assert fresh.headers["ETag"] != first.headers["ETag"]


def test_a_page_of_one_visitor_is_never_public(live):
    authorized = {"Authorization": "Bearer one"}
    for status in ("miss", "hit"):
        mine = live.direct.get("/authz/", headers=authorized)
        assert mine.headers[STATUS] == status
        assert mine.headers["Cache-Control"] == "private, no-cache"
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_user("alice", password="pw"))
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    page = live.direct.get(PAGE, headers=cookie)
    assert b"user=alice" in page.content
    assert page.headers["Cache-Control"] == "private, no-cache"
    # Another visitor holding alice's tag gets their own page, in full.
    other = live.direct.get(PAGE, headers={"If-None-Match": page.headers["ETag"]})
    assert other.status_code == 200 and b"user=anonymous" in other.content


# Through Varnish --------------------------------------------------------------------------------


def varnish_hit(response) -> bool:
    """Varnish served it from its cache: ``X-Varnish`` names the request and the object."""
    return len(response.headers["X-Varnish"].split()) == 2


def test_varnish_keeps_shared_pages_and_answers_revalidations(live):
    first = live.front.get(PAGE)
    assert first.status_code == 200 and not varnish_hit(first)
    assert "xkey" not in first.headers, "the ban keys stay in Varnish"
    assert "s-maxage=600" in first.headers["Cache-Control"]
    second = live.front.get(PAGE)
    assert varnish_hit(second) and second.content == first.content
    etag = first.headers["ETag"]
    for held in (etag, f"W/{etag}"):
        answer = live.front.get(PAGE, headers={"If-None-Match": held})
        assert answer.status_code == 304 and answer.content == b"", held
        assert answer.headers["ETag"] == etag and varnish_hit(answer)
    # Varnish 7.1 compares one tag only: a list or "*" is answered in full (which RFC 9111
    # 4.3.2 allows; the server itself answers them with a 304).
    for held in (f'"other", {etag}', "*"):
        answer = live.front.get(PAGE, headers={"If-None-Match": held})
        assert answer.status_code == 304 or answer.content == first.content
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert live.front.get(PAGE, headers=since).status_code == 304
    head = live.front.head(PAGE, headers={"If-None-Match": etag})
    assert head.status_code == 304 and head.content == b""
    other = live.front.get(PAGE, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == first.content
    head, body = raw_get(str(live.front.base_url), PAGE, If_None_Match=etag)
    assert head.startswith(b"HTTP/1.1 304 ") and body == b""


def test_through_varnish_a_stale_page_keeps_its_tag_until_the_refresh_changes_it(live):
    first = live.front.get(PAGE)
    until(lambda: _cached_in_varnish(live.front, "articles="), 10, "the page in Varnish")
    held = {"If-None-Match": first.headers["ETag"]}
    Article.objects.create(title="stale-in-front")
    assert purge.wait_until_sent(10)
    answer = live.front.get(PAGE, headers=held)
    if answer.status_code == 304:  # the stale page, still the one the client holds
        assert answer.headers["ETag"] == first.headers["ETag"]
    else:  # the refresh was already done
        assert b"articles=stale-in-front" in answer.content

    def changed():
        answer = live.front.get(PAGE, headers=held)
        return answer if answer.status_code == 200 else None

    fresh = until(changed, 30, "the refreshed page through Varnish", 0.01)
    assert b"articles=stale-in-front" in fresh.content
    assert fresh.headers["ETag"] != first.headers["ETag"]


def test_varnish_revalidates_an_expired_page_with_a_304_from_the_server(live):
    path = "/headers/?h=Cache-Control:s-maxage%3D1"
    assert live.front.get(path).status_code == 200

    def revalidated():
        live.front.get(path)
        return f"GET {path} HTTP/1.1 304 " in live.access.read_text()

    until(revalidated, 30, "Varnish's conditional request answered with a 304", interval=0.3)
    lines = live.access.read_text().splitlines()
    line = next(x for x in lines if f"GET {path} HTTP/1.1 304 " in x)
    assert line.split()[-1] in ("0", "-"), "no body"


def test_pages_of_one_visitor_never_enter_varnish(live):
    mine = live.front.get("/authz/", headers={"Authorization": "Bearer one"})
    assert mine.content == b"authorization=Bearer one"
    assert "private" in mine.headers["Cache-Control"]
    again = live.front.get("/authz/", headers={"Authorization": "Bearer one"})
    assert not varnish_hit(again)
    assert live.front.get("/authz/").content == b"authorization=None"
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_user("bob", password="pw"))
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    for _ in range(2):
        bobs = live.front.get(PAGE, headers=cookie)
        assert b"user=bob" in bobs.content and not varnish_hit(bobs)
        assert bobs.headers["Cache-Control"] == "private, no-cache"
    assert b"user=anonymous" in live.front.get(PAGE).content


def _cached_in_varnish(front, text: str):
    answer = front.get(PAGE)
    return answer if varnish_hit(answer) and text.encode() in answer.content else None


def test_a_write_to_another_table_leaves_varnish_its_page(live):
    first = live.front.get(PAGE)
    until(lambda: _cached_in_varnish(live.front, "articles="), 10, "the page in Varnish")
    Tag.objects.create(name="unrelated")
    assert purge.wait_until_sent(10)
    kept = live.front.get(PAGE)
    assert varnish_hit(kept) and kept.content == first.content


def test_invalidate_bans_every_page(live):
    live.front.get(PAGE)
    until(lambda: _cached_in_varnish(live.front, "articles="), 10, "the page in Varnish")
    invalidate()
    assert purge.wait_until_sent(10)
    assert not varnish_hit(live.front.get(PAGE))


def test_an_orm_write_is_visible_through_varnish_within_one_render(live):
    """Measured here: ``-s`` prints the figures (docs/http-caching.md)."""
    renders = []
    for number in range(5):
        started = time.perf_counter()
        assert live.direct.get(f"{PAGE}?render={number}").headers[STATUS] == "miss"
        renders.append(time.perf_counter() - started)
    seen_after = []
    for number in range(10):
        title = f"visible{number}"
        live.front.get(PAGE)
        until(lambda: _cached_in_varnish(live.front, "articles="), 10, "the page in Varnish")
        Article.objects.create(title=title)
        committed = time.perf_counter()
        # Visitors keep coming meanwhile (one every 2 ms), as they would on a live site.
        until(lambda t=title: t.encode() in live.front.get(PAGE).content, 10, title, 0.002)
        seen_after.append(time.perf_counter() - committed)
    render = statistics.median(renders)
    print(
        f"\nwrite visible through Varnish after (ms): median "
        f"{statistics.median(seen_after) * 1000:.0f}, max {max(seen_after) * 1000:.0f}, "
        f"all {[round(s * 1000) for s in seen_after]}; one render (a miss at the server): "
        f"median {render * 1000:.0f} ms"
    )
    assert len(seen_after) == 10
