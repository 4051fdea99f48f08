"""The visitor that ``manage.py jimmypage`` plays: hosts, headers, users, languages."""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import CommandError
from django.http import HttpRequest, HttpResponseBase
from django.test.client import Client, RequestFactory
from django.urls.base import get_urlconf
from django.utils import translation

from jimmypage import conf, generations

LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"


def process_local_cache() -> str | None:
    """The class name of the configured cache if each process has its own, else ``None``."""
    cache = caches[conf.cache_alias()]
    if isinstance(cache, LocMemCache | DummyCache):
        return type(cache).__name__
    return None


def resolve_target(target: str):
    """The model an ``app_label.ModelName`` label names, or the table name itself."""
    if "." not in target or target in generations.known_tables():
        return target
    try:
        return apps.get_model(target)
    except (LookupError, ValueError):
        raise CommandError(
            f"Unknown model {target!r}: give a model as app_label.ModelName "
            "(e.g. auth.User) or a table name."
        ) from None


def default_host() -> str:
    """The first ``ALLOWED_HOSTS`` entry that names one host, else ``localhost``."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def header_meta(headers: list[str]) -> dict[str, str]:
    """``request.META`` entries for ``'Name: value'`` strings."""
    meta = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise CommandError(f"A header is 'Name: value', not {header!r}.")
        key = name.strip().upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        meta[key] = value.strip()
    return meta


class Visitor:
    """An anonymous visitor without cookies, at a host, sending requests in this process."""

    def __init__(self, host: str | None, headers: list[str]) -> None:
        self.host = host
        self.meta = header_meta(headers)
        self.client = Client(raise_request_exception=False)

    def where(self, url: str) -> tuple[str, str, bool]:
        """``(host, path with query, secure)`` of ``url``, absolute or a path."""
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2] or self.host or default_host()
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        if parts.query:
            path += "?" + parts.query
        # A path is requested over HTTPS when the site redirects every request to HTTPS.
        secure = parts.scheme == "https" if parts.scheme else settings.SECURE_SSL_REDIRECT
        return host, path, bool(secure)

    def assumed_host(self, url: str) -> str | None:
        """Why the host of ``url`` is what it is, when neither ``url`` nor ``--host`` gave it."""
        if urlsplit(url).netloc or self.host:
            return None
        if default_host() == "localhost":
            return "no ALLOWED_HOSTS entry names one host"
        return "the first ALLOWED_HOSTS entry that names one host"

    def get(self, url: str) -> HttpResponseBase:
        """The response to a GET of ``url`` through Django's handler, as a new visitor."""
        host, path, secure = self.where(url)
        self.client.cookies.clear()  # a cookie set by an earlier page would make a session
        return self.client.get(path, secure=secure, HTTP_HOST=host, **self.meta)

    def request(self, url: str) -> HttpRequest:
        """The request Django would build for a GET of ``url`` (no middleware applied)."""
        host, path, secure = self.where(url)
        return RequestFactory().get(path, secure=secure, HTTP_HOST=host, **self.meta)


def attach_visitor(request: HttpRequest, username: str | None):
    """Give ``request`` an empty session and its user (anonymous, or ``username``)."""
    if apps.is_installed("django.contrib.sessions"):
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore()
    if not apps.is_installed("django.contrib.auth"):
        if username:
            raise CommandError("--user needs django.contrib.auth in INSTALLED_APPS.")
        return None
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    if not username:
        request.user = AnonymousUser()
        return None
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise CommandError(f"No user is called {username!r}.") from None
    request.user = user
    session = getattr(request, "session", None)
    if session is not None and hasattr(user, "get_session_auth_hash"):
        # What a signed-in session holds, and what keys the user's pages (see keys.visitor).
        from django.contrib.auth import HASH_SESSION_KEY

        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    return user


def default_language(request: HttpRequest) -> str:
    """The language a request without cookies gets: LocaleMiddleware's choice if installed."""
    if settings.USE_I18N and LOCALE_MIDDLEWARE in settings.MIDDLEWARE:
        from django.conf.urls.i18n import is_language_prefix_patterns_used

        prefixed, _ = is_language_prefix_patterns_used(get_urlconf() or settings.ROOT_URLCONF)
        return translation.get_language_from_request(request, check_path=prefixed)
    return settings.LANGUAGE_CODE
