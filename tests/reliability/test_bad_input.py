"""Bad input: whatever a client sends, the cache layer never raises, its keys stay valid for
memcached, and Django's own answers to bad requests pass through unchanged and are never cached.

Fuzzed with hypothesis: paths (any bytes, unicode, %-escapes, very long), Host headers (invalid,
with ports, IDNA, empty, huge), query strings (repeated, empty, huge, malformed escapes, more
parameters than Django accepts), Accept-Language and the headers the page varies on, the
Authorization and Cookie headers, and the key prefix itself. Each request is sent once uncached
and twice through the cache; the three answers must agree.
"""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from . import keycheck
from .support import SETTINGS, STATUS, Timer, budget, cache_keys, figure
from .visitors import UNCACHED

EXAMPLES = budget(ci=1500, long=15000)
KEY_PREFIX = "a-site-prefix-of-forty-characters-long.."  # Django's own KEY_PREFIX, long
CACHES = {
    "default": {
        "BACKEND": "tests.reliability.keycheck.KeyCheckingLocMemCache",
        "LOCATION": "jimmypage-bad-input",
        "KEY_PREFIX": KEY_PREFIX,
        "VERSION": 123456789,
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}


def wsgi_text(text: str) -> str:
    """Text as a WSGI server hands it over: its UTF-8 bytes, decoded as latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


latin1 = st.text(st.characters(max_codepoint=255, exclude_categories=["Cs"]), max_size=80)
any_text = st.text(max_size=80)  # lone surrogates included
header_value = st.one_of(
    st.none(),
    latin1,
    any_text.map(wsgi_text),
    st.integers(1_000, 20_000).map(lambda n: "x" * n),
)
path_suffix = st.one_of(
    st.binary(max_size=200).map(lambda raw: quote_from_bytes(raw, safe="/")),
    any_text.map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="/")),
    st.sampled_from(["", "%", "%zz", "%2F", "%00", "a%2Fb/", "%C3%A9t%C3%A9", "%ff%fe", "..%2F"]),
    st.integers(500, 8_000).map(lambda n: "long/" * (n // 5)),
)
query = st.one_of(
    st.lists(st.tuples(latin1, latin1), max_size=6).map(urlencode),
    st.lists(st.sampled_from(["a=1", "a=2", "a=", "a", "=", "&", "b=%zz", "%ff=%fe", ";"])).map(
        "&".join
    ),
    latin1,
    any_text.map(wsgi_text),
    st.integers(1_000, 50_000).map(lambda n: "q=" + "z" * n),  # huge
    st.integers(900, 1_200).map(lambda n: "&".join(f"p{i}=1" for i in range(n))),  # too many
)
VALID_HOSTS = [
    "testserver",
    "example.com",
    "example.com:8080",
    "EXAMPLE.COM",
    "www.example.org:443",
    "xn--bcher-kva.example",
    "xn--bcher-kva.example:8000",
]
INVALID_HOSTS = [
    wsgi_text("bücher.example"),  # IDNA, not encoded: not allowed
    "example.com:",
    "example.com:abc",
    "[::1]:8000",
    "evil.com",
    "example.com.evil.com",
    "",
    " example.com",
    "example.com/path",
    "a" * 300,
]
host = st.one_of(
    st.sampled_from(VALID_HOSTS),
    st.sampled_from(VALID_HOSTS),
    st.sampled_from(VALID_HOSTS),
    st.sampled_from(INVALID_HOSTS),
    latin1,
)
cookie = st.one_of(
    st.none(),
    latin1,
    st.sampled_from(["sessionid=x", "sessionid=" + "y" * 32, "sessionid=", "csrftoken=z; a=b"]),
)
prefix = st.one_of(
    st.just("jimmypage"),
    latin1,
    st.sampled_from(["with space", "é", "x" * 41, "p:q", "tab\there"]),
)


@st.composite
def bad_requests(draw) -> dict:
    extra = {"HTTP_HOST": draw(host), "QUERY_STRING": draw(query)}
    for name in ("HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT", "HTTP_X_FLAVOUR", "HTTP_AUTHORIZATION"):
        value = draw(header_value)
        if value is not None:
            extra[name] = value
    cookies = draw(cookie)
    if cookies is not None:
        extra["HTTP_COOKIE"] = cookies
    return {
        "method": draw(st.sampled_from(["GET", "GET", "HEAD"])),
        "path": "/any/" + draw(path_suffix),
        "secure": draw(st.booleans()),
        "extra": extra,
    }


def answer(request: dict, uncached: bool = False):
    client = Client()  # a 500 comes back as a response (its exception is checked below)
    client.raise_request_exception = False

    def send():
        return client.generic(
            request["method"], request["path"], secure=request["secure"], **request["extra"]
        )

    if uncached:
        with UNCACHED:
            return send()
    return send()


def comparable(response) -> tuple:
    if response.status_code == 200 and response.has_header("X-Body-Digest"):
        return (200, response["X-Body-Digest"])
    return (response.status_code, response.content)


@override_settings(**SETTINGS, CACHES=CACHES)
def test_fuzzed_requests_never_break_the_cache_layer():
    tally = {"requests": 0, "400": 0, "200": 0, "hits": 0}
    timer = Timer()
    keycheck.VIOLATIONS.clear()
    keycheck.SEEN.clear()

    @settings(settings.get_profile("jimmypage-reliability"), max_examples=EXAMPLES)
    @given(request=bad_requests(), key_prefix=prefix)
    def check(request, key_prefix):
        caches["default"].clear()  # LocMemCache shares its entries by LOCATION: start empty
        with override_settings(JIMMY_PAGE_CACHE_PREFIX=key_prefix):
            raw = answer(request, uncached=True)
            before = {key for key in cache_keys() if ":page:" in key}
            first = answer(request)
            second = answer(request)
            after = {key for key in cache_keys() if ":page:" in key}
        tally["requests"] += 2
        for response in (raw, first, second):
            assert response.status_code in (200, 400), (
                response.status_code,
                getattr(response, "exc_info", None),
            )
        assert comparable(first) == comparable(raw) == comparable(second), request
        if raw.status_code == 400:
            tally["400"] += 1
            assert after == before, "a 400 left a page in the cache"
            assert not first.has_header(STATUS) or first[STATUS] == "bypass"
        else:
            tally["200"] += 1
            # A malformed CSRF cookie makes CsrfViewMiddleware issue a new token: such a
            # render is (rightly) never stored. Any other GET is cached from then on.
            malformed_csrf = "csrftoken" in request["extra"].get("HTTP_COOKIE", "")
            if request["method"] == "GET" and not malformed_csrf:
                assert second[STATUS] == "hit", (second[STATUS], request)
                tally["hits"] += 1
        assert not keycheck.VIOLATIONS, keycheck.VIOLATIONS[:3]

    check()
    longest = max((len(key.encode()) for key in keycheck.SEEN), default=0)
    figure(
        "bad input",
        requests=tally["requests"],
        answered_200=tally["200"],
        answered_400=tally["400"],
        second_request_hit=tally["hits"],
        distinct_keys=len(keycheck.SEEN),
        longest_key_bytes=longest,
        invalid_keys=len(keycheck.VIOLATIONS),
        seconds=timer.seconds,
    )
    assert tally["400"] and tally["200"]


WITHOUT_COMMON_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


@pytest.mark.parametrize("host", INVALID_HOSTS)
@pytest.mark.parametrize("common_middleware", [True, False])
def test_a_disallowed_host_is_djangos_400_and_is_never_cached(host, common_middleware):
    """With CommonMiddleware, Django refuses the host before the view; without it, jimmypage's
    key is the first to ask for the host: Django's DisallowedHost must come out unchanged."""
    middleware = {} if common_middleware else {"MIDDLEWARE": WITHOUT_COMMON_MIDDLEWARE}
    request = {"method": "GET", "path": "/articles/", "secure": False, "extra": {"HTTP_HOST": host}}
    with override_settings(**SETTINGS, CACHES=CACHES, **middleware):
        caches["default"].clear()
        for _ in range(2):
            raw, cached = answer(request, uncached=True), answer(request)
            assert raw.status_code == cached.status_code == 400
            assert cached.content == raw.content
        assert not [key for key in cache_keys() if ":page:" in key]
