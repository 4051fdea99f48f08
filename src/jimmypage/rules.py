"""What may be cached: which requests use the cache, which responses may be stored.

Stricter than the original README, like Django's own cache middleware: a page that could carry
one visitor's state (a cookie, a CSRF token, a flash message) is never stored for others.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import has_vary_header

from . import conf

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
PRIVATE_CACHE_CONTROL = frozenset({"private", "no-cache", "no-store"})
NO_STORE = frozenset({"no-store"})


def header_tokens(value: str) -> list[str]:
    """The comma-separated tokens of a header such as ``Vary`` or ``Cache-Control``.

    (Django 6.1 has ``django.utils.http.split_header_value`` for this; 5.2 has no public one.)
    """
    return [token.strip() for token in value.split(",") if token.strip()]


def bypass_reason(request: HttpRequest) -> str | None:
    """Why this request must not use the cache at all, or ``None`` if it may."""
    if conf.disabled():
        return "JIMMY_PAGE_DISABLED"
    if request.method not in CACHEABLE_METHODS:
        return f"method {request.method}"
    if has_messages(request):
        return "messages pending for this request"
    return None


def has_messages(request: HttpRequest) -> bool:
    """True when the messages framework holds messages for this request."""
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


def used_csrf_token(request: HttpRequest) -> bool:
    """True when the render asked for the CSRF token (``get_token``), which is per visitor."""
    meta = request.META
    return bool(meta.get("CSRF_COOKIE_NEEDS_UPDATE") or meta.get("CSRF_COOKIE_USED"))


def used_csp_nonce(request: HttpRequest) -> bool:
    """True when the render used the CSP nonce (Django 6.0+), which is new for every response.

    A page holding one nonce would be served with the header of another: its scripts blocked.
    """
    # Django's LazyNonce is true once it was generated, false before.
    return bool(getattr(request, "_csp_nonce", None))


def sets_cookies(response: HttpResponseBase) -> bool:
    """True when ``response`` sets a cookie, through ``set_cookie()`` or a raw header."""
    return bool(response.cookies) or response.has_header("Set-Cookie")


def acts_on_the_browser(response: HttpResponseBase) -> bool:
    """True when ``response`` tells the browser to change its state (``Clear-Site-Data``).

    Like a cookie, that is meant for one visitor: replayed to others, it would log them out.
    """
    return response.has_header("Clear-Site-Data")


def cache_control_directives(response: HttpResponseBase) -> set[str]:
    """The lower-cased directive names of the response's ``Cache-Control`` header."""
    if not response.has_header("Cache-Control"):
        return set()
    return {
        part.split("=", 1)[0].strip().lower()
        for part in header_tokens(response.headers["Cache-Control"])
    }


def response_refusal(response: HttpResponseBase, per_visitor: bool = False) -> str | None:
    """Why ``response`` may not be kept and answered again, or ``None`` if it may.

    ``Vary: Cookie`` is left to the caller: it rules a page out for ``cache_page``, whose
    visitors carry cookies, but not for copies served only to visitors without any. A copy kept
    ``per_visitor`` (for one session only) may be ``private`` or ``no-cache``, as jimmypage
    itself marks pages of one visitor for the caches downstream; never ``no-store``.
    """
    if response.status_code != 200:
        return f"status {response.status_code}"
    if response.streaming:
        return "streaming response"
    if sets_cookies(response):
        return "response sets cookies"
    if acts_on_the_browser(response):
        return "Clear-Site-Data"
    refused = NO_STORE if per_visitor else PRIVATE_CACHE_CONTROL
    private = cache_control_directives(response) & refused
    if private:
        return f"Cache-Control: {', '.join(sorted(private))}"
    if has_vary_header(response, "*"):
        return "Vary: *"
    if "no-cache" in response.get("Pragma", "").lower():
        return "Pragma: no-cache"
    return None


def store_refusal(request: HttpRequest, response: HttpResponseBase) -> str | None:
    """Why this rendered response must not be stored, or ``None`` if it may."""
    refusal = response_refusal(response)
    if refusal is not None:
        return refusal
    if has_vary_header(response, "Cookie"):
        return f"Vary: {response.headers['Vary']}"
    if used_csrf_token(request):
        return "render used the CSRF token"
    if used_csp_nonce(request):
        return "render used the CSP nonce"
    if getattr(getattr(request, "session", None), "modified", False):
        return "render changed the session"
    if has_messages(request):
        return "render left messages for this request"
    return None
