"""``SignedInHitMiddleware``: fresh pages for signed-in visitors, before sessions and auth run.

A signed-in hit through ``cache_page`` alone costs two SQL queries before the page can even be
keyed (the session, then the user). Placed first in ``MIDDLEWARE``, before ``SessionMiddleware``,
this middleware answers a GET or HEAD that carries a session cookie from a copy of the whole
response, as the rest of the stack left it, in one cache round trip and without SQL.

A copy is kept only after the request went through the whole stack, Django accepted its session
and its user (``cache_page`` answered it with a fresh page of that user, from that session), and
nothing rotated or changed the session. It is keyed by the whole ``Cookie`` header (the response
varies on it) and the URL, and it records what must still hold for it to be served: the
session's token (see ``sessions``: replaced whenever the session may have changed or ended), the
session's expiry as Django counts it (or the copy's own timeout, if sooner), the generations of
the page, the users generation and, for the ``cache`` engine, a digest of the session's own
data. The copy, the token, the
generations and (``cache`` engine) the session's data come in one ``get_many``; or, for a copy
found fresh before, from the local tier kept current by Redis's stream (the session's token is
then one of the tokens it needs; ``tier.keep_signed_copy``). Anything stale, missing or doubtful
goes through the whole stack, where ``cache_page`` runs as without it.

Opt-in: on a hit no other middleware and no view run, so nothing they do per request happens.
See ``docs/signed-in.md`` for what that skips and for the threat model.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
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
    sessions,
    signals,
    stats,
    tier,
    users,
)

MIDDLEWARE_PATH = "jimmypage.signed_in.SignedInHitMiddleware"
COPY = "s1"  # (COPY, page entry, session token, expires at, session data digest or None)

# Vary'd request headers of each URL's signed-in responses, learnt from the responses. A URL
# this process has not seen yet goes through the stack once.
_vary_names: dict[str, tuple[str, ...]] = {}
_VARY_NAMES_MAX = 10_000

# Sessions (by digest) that ``cache_page`` found anonymous (a cart): they go straight through,
# without a cache call of ours. A session key never becomes a signed-in one: Django gives a
# session a new key when it logs in.
_anonymous_sessions: dict[str, None] = {}
_ANONYMOUS_SESSIONS_MAX = 10_000


def _digest(parts: tuple) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def session_cookie(request: HttpRequest) -> str | None:
    """The session cookie of a request this middleware looks at, or ``None``."""
    if not request.META.get("HTTP_COOKIE") or sessions.kind() is None:
        return None
    return request.COOKIES.get(settings.SESSION_COOKIE_NAME) or None


def answerable(request: HttpRequest) -> bool:
    """True for a request a copy could answer: a GET or HEAD whose visitor is the session's."""
    return (
        request.method in rules.CACHEABLE_METHODS
        and "HTTP_AUTHORIZATION" not in request.META
        and not settings.SESSION_SAVE_EVERY_REQUEST  # every request must reach the session
        and not conf.disabled()
    )


def url_key(request: HttpRequest) -> str:
    """The URL's part of a copy's key; raises ``DisallowedHost`` for a bad host."""
    parts = (request.scheme, keys.host(request), request.path, request.META.get("QUERY_STRING"))
    return _digest(parts)


def copy_key(url: str, request: HttpRequest, names: tuple[str, ...]) -> str:
    """The key of a copy: the URL, the whole ``Cookie`` header and the Vary'd headers."""
    meta = request.META
    values = (meta.get("HTTP_COOKIE"), names, tuple(meta.get(name) for name in names))
    return f"{conf.key_prefix()}:signed:{_accepting()}:{url}:{_digest(values)}"


def _accepting() -> str:
    """A digest of the settings that decide which sessions Django accepts.

    A new ``SECRET_KEY`` (session hashes and signed cookies no longer verify), other
    authentication backends or another session engine make every copy of before unreachable.
    """
    memo = conf.memo("signed_in")
    try:
        return memo["accepting"]
    except KeyError:
        parts = (
            settings.SECRET_KEY,
            tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())),
            tuple(settings.AUTHENTICATION_BACKENDS),
            settings.SESSION_ENGINE,
            settings.SESSION_COOKIE_NAME,
        )
        memo["accepting"] = found = _digest(parts)[:16]
        return found


class SignedInHitMiddleware:
    """Answer fresh pages to signed-in visitors before any other middleware runs."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session_key = session_cookie(request)
        if session_key is None or refresh.ticket_of(request) is not None:
            return self.get_response(request)  # (a refresh must render, never be answered)
        if not answerable(request) or sessions.digest(session_key) in _anonymous_sessions:
            response = self.get_response(request)
            self.notice_session_change(request, session_key, response)
            return response
        try:
            url = url_key(request)
        except Exception:  # a bad Host: Django's own handling answers it
            return self.get_response(request)
        names = _vary_names.get(url)
        key = copy_key(url, request, names) if names is not None else None
        if key is not None:
            page = tier.fresh_signed_copy(key)  # the session's token is one that it needs
            if page is not None:
                return self.answer(request, page, tier.LOCAL)
        seen = tier.before_read()
        generation_keys = generations.fetch_keys(generations.hint(key) if key else ())
        token_key = sessions.token_key(session_key)
        wanted = [token_key, *generation_keys, users.generation_key()]
        if sessions.kind() == sessions.CACHE:
            wanted.append(sessions.engine_key(session_key))
        found = backend.get_many([key, *wanted] if key else wanted)
        if found is None:
            return self.get_response(request)  # the cache is away: cache_page says so
        if key is not None:
            response = self.fresh_copy(request, key, session_key, found, generation_keys, seen)
            if response is not None:
                return response
        # Read before the stack loads the session: a change made meanwhile replaces it.
        token = sessions.ensure_token(session_key, found.get(token_key))
        # And the users generation, read before the stack loads the user: what the page that
        # cache_page may render is stamped with (see users.token_for_render).
        request._jimmypage_users_token = found.get(users.generation_key())
        response = self.get_response(request)
        if not self.notice_session_change(request, session_key, response):
            self.keep_copy(request, url, token, response)
            self.note_anonymous(session_key, response)
        return response

    def note_anonymous(self, session_key: str, response) -> None:
        """Remember a session that ``cache_page`` keyed as not signed in (its stamp says so)."""
        stamp = getattr(response, "jimmypage_stamp", None)
        if stamp is None or users.is_users_stamp(stamp):
            return
        if len(_anonymous_sessions) >= _ANONYMOUS_SESSIONS_MAX:
            _anonymous_sessions.clear()
        _anonymous_sessions[sessions.digest(session_key)] = None

    def fresh_copy(self, request, key, session_key, found, generation_keys, seen):
        """The copy at ``key`` if everything it depends on still holds, else ``None``.

        A fresh copy is kept in the local tier, with the session's token among the tokens it
        needs, until it expires; never one that must be checked against the ``cache`` engine's
        session data, which no stream follows.
        """
        copy = found.get(key)
        if type(copy) is not tuple or len(copy) != 5 or copy[0] != COPY:
            return None
        _, page, token, expires, data_digest = copy
        if token != found.get(sessions.token_key(session_key)) or expires <= time.time():
            return None
        if data_digest is not None:
            data = found.get(sessions.engine_key(session_key))
            if type(data) is not dict or sessions.data_digest(data) != data_digest:
                return None
        stamp = entries.stamp_of(page)
        if not users.is_users_stamp(stamp):
            return None
        generations.remember(key, stamp)
        global_token = generations.settle_pending(found.get(generation_keys[0]))
        found = generations.with_needed(stamp, found, generation_keys)
        if not generations.is_current(stamp, global_token, found):
            return None
        if data_digest is None:
            tier.keep_signed_copy(
                key, page, (sessions.token_key(session_key), token), expires, found, seen
            )
        return self.answer(request, page, "fresh copy for a signed-in session")

    def answer(self, request: HttpRequest, page, reason: str) -> HttpResponseBase:
        """The copy, as the stack would have answered it: a page of one visitor (or a 304)."""
        age = entries.age_of(page)
        response = conditional.from_cache(request, entries.to_response(page), age, True, False)
        response.jimmypage_status = "hit"
        response.jimmypage_age = age
        header = conf.status_header()
        if header:
            entries.set_plain_header(response, header, tier.status_label("hit", reason))
        log.decision("hit", reason, request)
        stats.count("hit")
        signals.page_hit.send(
            None, request=request, age=response.jimmypage_age, reason="early signed-in"
        )
        return response

    def notice_session_change(self, request, session_key: str, response) -> bool:
        """After the stack: if the session was rotated, removed or changed, forget its copies."""
        session = getattr(request, "session", None)
        changed = settings.SESSION_COOKIE_NAME in response.cookies or (
            session is not None and (session.modified or session.session_key != session_key)
        )
        if changed:
            sessions.forget(session_key)
        return changed

    def keep_copy(self, request, url: str, token: str | None, response) -> None:
        """Keep a copy of a page ``cache_page`` answered fresh to the session's own user."""
        stamp = getattr(response, "jimmypage_stamp", None)
        if (
            token is None
            or request.method != "GET"
            or getattr(response, "jimmypage_status", None) not in ("hit", "miss")
            or not users.is_users_stamp(stamp)
            or not _user_of_the_session(request)
            or rules.response_refusal(response, per_visitor=True) is not None
        ):
            return
        expires = sessions.expiry(request.session)
        now = time.time()
        if expires is None or expires <= now:
            return
        page_timeout = getattr(response, "jimmypage_timeout", None)
        if page_timeout:
            expires = min(expires, now + page_timeout)  # served until the first of the two ends
        data_digest = None
        if sessions.kind() == sessions.CACHE:
            data_digest = sessions.data_digest(dict(request.session.items()))
        names = tuple(name for name in entries.vary_meta_names(response) if name != "HTTP_COOKIE")
        if _vary_names.get(url) != names:
            if len(_vary_names) >= _VARY_NAMES_MAX:
                _vary_names.clear()
            _vary_names[url] = names
        # The copy keeps the page's age and the view's headers, not those added for this answer.
        rendered_at = now - getattr(response, "jimmypage_age", 0.0)
        without = downstream.added_headers(response)
        page = entries.page_entry(response, stamp, rendered_at=rendered_at, without=without)
        copy = (COPY, page, token, expires, data_digest)
        timeout = max(1, int(expires - now))
        backend.put(copy_key(url, request, names), copy, timeout)


def _user_of_the_session(request: HttpRequest) -> bool:
    """True when the request's user is signed in through its session (not another way)."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return False
    return session.get(SESSION_KEY) == user._meta.pk.value_to_string(user)
