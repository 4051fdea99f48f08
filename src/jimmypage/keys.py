"""Cache keys of pages: who asked, for what, in which language.

A key is a fixed-length hash, safe for memcached whatever the URL holds. Two requests share a key
only when the same view would give them the same page: same scheme, host, path (with the script
prefix), query string, language, time zone and visitor.

The query string is keyed as it was sent, not as ``request.GET`` decodes it: a view can see the
spelling (``get_full_path()``, ``request.META["QUERY_STRING"]``, the order of ``request.GET``),
so ``?a`` and ``?a=``, ``%FF`` and ``%EF%BF%BD``, or ``?a=1&b=2`` and ``?b=2&a=1`` are pages of
their own, as they are for Django's ``cache_page``.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject, empty

from . import conf

ANONYMOUS = ()

# What the auth framework keeps in a session: part of who the user is, not of their data.
_AUTH_SESSION_KEYS = frozenset({"_auth_user_id", "_auth_user_backend", "_auth_user_hash"})

_ACCEPTED_HOSTS_MAX = 1_000

# The function behind the lazy ``request.user`` of Django's ``AuthenticationMiddleware``.
_DJANGO_LAZY_USER = ("django.contrib.auth.middleware", "AuthenticationMiddleware.process_request")


def visitor(request: HttpRequest) -> tuple:
    """Whose page this is: ``ANONYMOUS`` for the shared page of anonymous visitors.

    A logged-in user gets their own pages (per password: see ``_auth_hash``); an anonymous
    visitor whose session holds data (a cart) gets pages of that session; a request with an
    ``Authorization`` header never shares with a request without the same header. A session's
    data is part of the key too (by digest), so a page built from a cart is never served once
    the cart changed. The parts are ``(name, value)`` pairs hashed through ``repr()``, so no
    header value can forge another visitor's.
    """
    parts = []
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        parts.append(("authorization", authorization))
    session = getattr(request, "session", None)
    if is_signed_in(request):
        parts.append(("user", str(request.user.pk), _auth_hash(session)))
    if session is not None and not session.is_empty():
        data = session_data(session)
        if data or not parts:
            parts.append(("session", session.session_key, data))
    return tuple(parts)


def is_shared(request: HttpRequest) -> bool:
    """True when ``visitor(request)`` is ``ANONYMOUS``: the page is shared by every such visitor.

    The same rule as ``visitor``, without the digest of the session's data.
    """
    if "HTTP_AUTHORIZATION" in request.META or is_signed_in(request):
        return False
    session = getattr(request, "session", None)
    return session is None or session.is_empty()


def is_signed_in(request: HttpRequest) -> bool:
    """True when the request's user is authenticated.

    Django's lazy ``request.user``, not loaded yet, is known anonymous without loading it when
    the session holds no user id: loading it would look up exactly that id (``auth.get_user``)
    and give ``AnonymousUser``. The lookup reads the session as loading would (so the response
    still gets ``Vary: Cookie``); skipping the load saves several µs of a local hit. A user set
    any other way (another middleware, a test) is asked.
    """
    user = getattr(request, "user", None)
    if user is None:
        return False
    session = getattr(request, "session", None)
    if session is not None and _unloaded_session_user(request, user):
        return SESSION_KEY in session and user.is_authenticated
    return user.is_authenticated


def _unloaded_session_user(request: HttpRequest, user) -> bool:
    """True when ``user`` is the lazy user of Django's ``AuthenticationMiddleware``, not loaded."""
    if type(user) is not SimpleLazyObject or "_cached_user" in vars(request):
        return False
    state = vars(user)
    if state.get("_wrapped") is not empty:
        return False
    load = state.get("_setupfunc")
    where = (getattr(load, "__module__", None), getattr(load, "__qualname__", "").split(".<")[0])
    return where == _DJANGO_LAZY_USER


def _auth_hash(session) -> str | None:
    """The session's auth hash, which Django checked against the user's when it loaded the user.

    It derives from the password: a user with a new password, or a new user who got the id of
    a deleted one, never shares pages with the sessions of before.
    """
    return session.get("_auth_user_hash") if session is not None else None


def session_data(session) -> str:
    """A digest of what a session holds besides the logged-in user ("" when nothing)."""
    items = sorted((k, v) for k, v in session.items() if k not in _AUTH_SESSION_KEYS)
    if not items:
        return ""
    return hashlib.blake2b(repr(items).encode(), digest_size=16).hexdigest()


def _digest(parts: tuple) -> str:
    # repr() escapes every unprintable character, so any str (even a lone surrogate) encodes.
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def query_string(request: HttpRequest) -> str:
    """The query string as the visitor sent it: what ``request.GET`` and the view are made from."""
    return request.META.get("QUERY_STRING", "")


def base_key(request: HttpRequest, who: tuple | None = None) -> str:
    """The key of the page at this URL for this visitor (``who``, if already known, is
    ``visitor(request)``), before any ``Vary`` header is applied.

    ``get_host()`` validates the host against ``ALLOWED_HOSTS``: a bad host raises Django's own
    ``DisallowedHost`` here, exactly as it would in the view.
    """
    parts = (
        request.scheme,
        host(request),
        request.path,
        query_string(request),
        translation.get_language(),
        timezone.get_current_timezone_name(),
        visitor(request) if who is None else who,
    )
    return f"{conf.key_prefix()}:page:{_digest(parts)}"


def host(request: HttpRequest) -> str:
    """``request.get_host()``, which checks the host against ``ALLOWED_HOSTS`` on every call.

    A plain ``Host`` header (no ``X-Forwarded-Host``) is the host itself once accepted: the
    hosts accepted are remembered (until a setting changes), so a hit checks each one once per
    process. Anything else, including a refused host (``DisallowedHost``), is ``get_host()``'s.
    """
    meta = request.META
    raw = meta.get("HTTP_HOST")
    if raw is None or "HTTP_X_FORWARDED_HOST" in meta or _custom_get_host(request):
        return request.get_host()
    accepted = conf.memo(" accepted hosts")
    if raw not in accepted:
        checked = request.get_host()
        if len(accepted) >= _ACCEPTED_HOSTS_MAX:  # ALLOWED_HOSTS = ["*"] and many names
            accepted.clear()
        accepted[raw] = checked
    return accepted[raw]


def _custom_get_host(request: HttpRequest) -> bool:
    return type(request).get_host is not HttpRequest.get_host


def variant_key(base: str, request: HttpRequest, meta_names: tuple[str, ...]) -> str:
    """The key of the page at ``base`` for the values this request has of the Vary'd headers."""
    values = tuple(request.META.get(name) for name in meta_names)
    return f"{base}:{_digest((meta_names, values))}"


def lock_key(key: str, generation: str | None) -> str:
    """The key of the refresh lock of the page at ``key`` for ``generation``."""
    return f"{conf.key_prefix()}:lock:{_digest((key, generation))}"
