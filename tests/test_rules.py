"""What is never cached: each rule with a response that breaks it."""

import pytest
from django.test import Client, override_settings

from tests.testapp.views import RENDERS

STATUS = "X-Jimmy-Page"
pytestmark = [
    pytest.mark.usefixtures("clean_state"),
    pytest.mark.filterwarnings("ignore"),
]


def twice(path, **extra):
    client = Client()
    client.get(path, **extra)
    return client.get(path, **extra)


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
@pytest.mark.parametrize(
    "query",
    [
        "status=404",
        "status=500",
        "status=301",
        "status=203",
        "h=Cache-Control:private",
        "h=Cache-Control:no-cache",
        "h=Cache-Control:max-age=60, no-store",
        "h=Vary:*",
        "h=Vary:Accept-Encoding, Cookie",
        "h=Pragma:no-cache",
        'h=Clear-Site-Data:"cookies"',
    ],
)
def test_responses_that_are_never_stored(query):
    response = twice(f"/headers/?{query}")
    assert response[STATUS] == "miss"
    assert RENDERS["headers_page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_harmless_headers_are_stored_and_replayed():
    response = twice("/headers/?h=Cache-Control:max-age=60&h=X-Extra:kept")
    assert response[STATUS] == "hit"
    assert response["X-Extra"] == "kept" and response["Cache-Control"] == "max-age=60"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_response_setting_a_cookie_is_not_stored():
    assert twice("/cookie/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_streaming_response_is_not_stored():
    assert twice("/streaming/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_render_that_used_the_csrf_token_is_not_stored():
    first = Client().get("/csrf/")
    second = Client().get("/csrf/")
    assert second[STATUS] == "miss"
    assert first.content != second.content, "each visitor gets their own token"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_template_that_uses_csrf_token_is_not_stored():
    assert twice("/csrf-template/")[STATUS] == "miss"
    assert RENDERS["csrf_template_page"] == 2


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_request_with_pending_messages_bypasses():
    client = Client()
    client.get("/messages/")
    client.get("/add-message/")
    with_message = client.get("/messages/")
    assert with_message[STATUS] == "bypass" and b"hello" in with_message.content
    assert client.get("/messages/")[STATUS] == "hit"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_render_that_adds_a_message_is_not_stored():
    client = Client()
    assert client.get("/adds-message/")[STATUS] == "miss"
    assert Client().get("/adds-message/")[STATUS] == "miss"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
@pytest.mark.parametrize("header", ["Set-Cookie:flavour=oat", "set-cookie:flavour=oat; Path=/"])
def test_a_raw_set_cookie_header_is_never_stored(header):
    """However the cookie got there: set_cookie() or a header written by hand."""
    response = twice(f"/headers/?h={header}")
    assert response[STATUS] == "miss"
    assert RENDERS["headers_page"] == 2


def _middleware_after_the_view(*names):
    from django.conf import settings

    return override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, *names])


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_keeps_what_the_view_told_the_clickjacking_middleware():
    with _middleware_after_the_view("django.middleware.clickjacking.XFrameOptionsMiddleware"):
        miss = Client().get("/framable/")
        hit = Client().get("/framable/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert not miss.has_header("X-Frame-Options")
    assert not hit.has_header("X-Frame-Options")


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS, SECURE_CSP={"default-src": ["'self'"]})
def test_a_hit_keeps_the_views_own_content_security_policy():
    django = pytest.importorskip("django")
    if django.VERSION < (6, 0):
        pytest.skip("csp_override and the CSP middleware are new in Django 6.0")
    with _middleware_after_the_view("django.middleware.csp.ContentSecurityPolicyMiddleware"):
        miss = Client().get("/strict-csp/")
        hit = Client().get("/strict-csp/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert miss["Content-Security-Policy"] == "default-src 'none'"
    assert hit["Content-Security-Policy"] == "default-src 'none'"


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_render_that_used_the_csp_nonce_is_not_stored():
    django = pytest.importorskip("django")
    if django.VERSION < (6, 0):
        pytest.skip("the CSP nonce is new in Django 6.0")
    from django.utils.csp import CSP

    policy = override_settings(SECURE_CSP={"script-src": [CSP.NONCE]})
    csp = _middleware_after_the_view("django.middleware.csp.ContentSecurityPolicyMiddleware")
    with policy, csp:
        first = Client().get("/csp-nonce/")
        second = Client().get("/csp-nonce/")
    assert second[STATUS] == "miss"
    for response in (first, second):
        nonce = response.content.decode().split("nonce='")[1].split("'")[0]
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/not-a-response/", "/async-not-a-response/"])
def test_a_view_that_returns_no_response_fails_as_it_would_without_the_cache(path):
    """Django's own error names the view; jimmypage adds nothing of its own."""
    client = Client(raise_request_exception=True)
    with pytest.raises(ValueError, match="didn't return an HttpResponse object"):
        client.get(path)


def test_a_view_that_returns_a_string_fails_outside_jimmypage():
    """Django has no message for this one: whatever fails first, it is not jimmypage's code."""
    client = Client(raise_request_exception=True)
    with pytest.raises(Exception) as failure:
        client.get("/a-string/")
    assert "jimmypage" not in failure.traceback[-1].path.parts


@override_settings(JIMMY_PAGE_STATUS_HEADER=STATUS)
def test_a_hit_keeps_the_views_own_reason_phrase():
    miss, hit = Client().get("/reason/"), Client().get("/reason/")
    assert (miss[STATUS], hit[STATUS]) == ("miss", "hit")
    assert miss.reason_phrase == hit.reason_phrase == "Fine Indeed"
