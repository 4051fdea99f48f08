"""``AnonymousHitMiddleware``: fresh pages for cookieless visitors, before the rest of the stack.

A request with no ``Cookie`` and no ``Authorization`` header is an anonymous visitor without a
session: every such visitor gets the same page for the same URL and the same Vary'd headers.
Placed first in ``MIDDLEWARE``, this middleware answers them from a copy of the whole response
(as the other middleware left it) without running sessions, auth, CSRF or the view.

It only ever serves fresh copies. A copy is stored when a cookieless request went through the
stack and ``cache_page`` answered it with a fresh page (a hit, or a miss it could store), with
that page's stamp; a stale or missing copy lets the request through, where ``cache_page``
serves the stale page and starts its refresh as usual.

Opt-in, for sites where a request without cookies or ``Authorization`` is anonymous: a site that
identifies visitors some other way (client certificates, IP addresses, other headers not named
in ``Vary``) must not use it.
"""

from __future__ import annotations

import hashlib
import time

from django.http import HttpRequest, HttpResponseBase

from . import (
    backend,
    conditional,
    conf,
    downstream,
    entries,
    generations,
    keys,
    log,
    refresh,
    rules,
    signals,
    stats,
    tier,
    users,
)

# Vary'd request headers of each URL's responses, learnt from the responses themselves. A URL
# this process has not seen yet goes through the stack once.
_vary_names: dict[str, tuple[str, ...]] = {}
_VARY_NAMES_MAX = 10_000


def _cookieless_get(request: HttpRequest) -> bool:
    meta = request.META
    return (
        request.method in rules.CACHEABLE_METHODS
        and not meta.get("HTTP_COOKIE")  # absent, or empty as test clients send it
        and "HTTP_AUTHORIZATION" not in meta
        and not conf.disabled()
    )


def _base_key(request: HttpRequest) -> str:
    """The key of a URL for cookieless visitors, before the Vary'd headers are applied."""
    parts = (request.scheme, keys.host(request), request.path, keys.query_string(request))
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"{conf.key_prefix()}:anon:{digest}"


def _variant_key(base: str, request: HttpRequest, names: tuple[str, ...]) -> str:
    values = repr(tuple(request.META.get(name) for name in names)).encode()
    return f"{base}:{hashlib.blake2b(values, digest_size=16).hexdigest()}"


class AnonymousHitMiddleware:
    """Answer fresh pages to visitors without cookies before any other middleware runs."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _cookieless_get(request) or refresh.is_refresh(request):
            return self.get_response(request)
        try:
            base = _base_key(request)
        except Exception:  # a bad Host: Django's own handling answers it
            return self.get_response(request)
        response = self.fresh_copy(request, base)
        if response is not None:
            return response
        response = self.get_response(request)
        self.keep_copy(request, base, response)
        return response

    def fresh_copy(self, request: HttpRequest, base: str) -> HttpResponseBase | None:
        """The stored copy of this page, if it is fresh; one round trip."""
        names = _vary_names.get(base)
        if names is None:
            return None
        key = _variant_key(base, request, names)
        entry, reason = tier.fresh_entry(key), tier.LOCAL
        if entry is None:
            entry, reason = self.fresh_remote_copy(key), "fresh copy for cookieless visitors"
            if entry is None:
                return None
        age = entries.age_of(entry)
        response = conditional.from_cache(request, entries.to_response(entry), age, True, True)
        response.jimmypage_status = "hit"
        response.jimmypage_age = age
        header = conf.status_header()
        if header:
            entries.set_plain_header(response, header, tier.status_label("hit", reason))
        log.decision("hit", reason, request)
        stats.count("hit")
        signals.page_hit.send(None, request=request, age=response.jimmypage_age, reason="early")
        return response

    def fresh_remote_copy(self, key: str) -> tuple | None:
        """The stored copy at ``key`` if it is fresh, in one round trip."""
        seen = tier.before_read()
        generation_keys = generations.fetch_keys(generations.hint(key))
        found = backend.get_many([key, *generation_keys])
        entry = found.get(key) if found else None
        if not entries.is_page(entry):
            return None
        stamp = entries.stamp_of(entry)
        generations.remember(key, stamp)
        global_token = generations.settle_pending(found.get(generation_keys[0]))
        found = generations.with_needed(stamp, found, generation_keys)
        if not generations.is_current(stamp, global_token, found):
            return None
        tier.keep_fresh_copy(key, entry, found, seen)
        return entry

    def keep_copy(self, request: HttpRequest, base: str, response: HttpResponseBase) -> None:
        """Store the whole response when ``cache_page`` answered it with a fresh page."""
        stamp = getattr(response, "jimmypage_stamp", None)
        if stamp is None or getattr(response, "jimmypage_status", None) not in ("hit", "miss"):
            return
        if users.is_users_stamp(stamp):
            return  # a signed-in user's page (a site that signs in without cookies): never shared
        if request.method != "GET" or rules.response_refusal(response) is not None:
            return
        names = tuple(name for name in entries.vary_meta_names(response) if name != "HTTP_COOKIE")
        if _vary_names.get(base) != names:
            if len(_vary_names) >= _VARY_NAMES_MAX:
                _vary_names.clear()
            _vary_names[base] = names
        key = _variant_key(base, request, names)
        # The copy keeps the page's age and the view's headers, not those added for this answer.
        rendered_at = time.time() - getattr(response, "jimmypage_age", 0.0)
        without = downstream.added_headers(response)
        entry = entries.page_entry(response, stamp, rendered_at=rendered_at, without=without)
        if backend.put(key, entry, response.jimmypage_timeout):
            tier.keep_copy(key, entry, response.jimmypage_timeout)
