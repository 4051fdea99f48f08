"""What a refresh needs to ask for a page again: the request, as plain data.

A refresh never touches the live request (it has been answered and may be gone). ``Snapshot``
keeps what the site's own stack reads to build the page: the URL, the visitor's request headers,
the client and server addresses, the language and time zone, and of the cookies only two: the
session cookie when the page belongs to that session or its user, and the language cookie. A
page that depends on any other cookie must say ``Vary: Cookie``, and is then never stored.

``build_request()`` turns it back into a ``WSGIRequest`` that the refresh sends through the
site's middleware, so that everything the middleware puts on a request (the session and user,
``request.site``, ``request.htmx``, a tenant, the language) is there as it was for the visitor.
The shared page of anonymous visitors is rebuilt without anybody's session.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone, translation

from . import keys

# Server variables (not headers) that middleware may read: the client's address, the user a
# front server authenticated (RemoteUserMiddleware), the server's own name, port and protocol.
_SERVER_VARIABLES = ("REMOTE_ADDR", "REMOTE_USER", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL")


@dataclass(frozen=True)
class Snapshot:
    """The plain data a refresh needs to render a page again, in any thread or process."""

    key: str
    scheme: str
    script_prefix: str
    path_info: str
    query_string: str
    meta: tuple[tuple[str, str], ...]
    language: str | None
    timezone: str

    def to_data(self) -> dict:
        """The snapshot as JSON-compatible data, for a task queue."""
        data = dataclasses.asdict(self)
        data["meta"] = [list(pair) for pair in self.meta]
        return data

    @classmethod
    def from_data(cls, data: dict) -> Snapshot:
        """The snapshot that ``to_data`` turned into ``data``."""
        return cls(**{**data, "meta": tuple(tuple(pair) for pair in data["meta"])})

    @classmethod
    def of(cls, request: HttpRequest, key: str) -> Snapshot:
        """What decides the page ``request`` asked for, stored under ``key``."""
        meta = request.META
        kept = {name: meta[name] for name in _SERVER_VARIABLES if name in meta}
        kept.update(
            (name, value)
            for name, value in meta.items()
            if name.startswith("HTTP_") and name != "HTTP_COOKIE" and isinstance(value, str)
        )
        cookie = _kept_cookies(request)
        if cookie:
            kept["HTTP_COOKIE"] = cookie
        path, path_info = request.path, request.path_info
        script_prefix = path[: len(path) - len(path_info)] if path.endswith(path_info) else ""
        return cls(
            key=key,
            scheme=meta.get("wsgi.url_scheme") or request.scheme,
            script_prefix=script_prefix,
            path_info=path_info,
            query_string=keys.query_string(request),
            meta=tuple(sorted(kept.items())),
            language=translation.get_language(),
            timezone=timezone.get_current_timezone_name(),
        )

    def build_request(self):
        """A new GET request with everything of the snapshotted one that the stack reads."""
        from django.core.handlers.wsgi import WSGIRequest

        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": _to_wsgi(self.script_prefix),
            "PATH_INFO": _to_wsgi(self.path_info),
            "QUERY_STRING": self.query_string,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "443" if self.scheme == "https" else "80",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(b""),
        }
        environ.update(self.meta)
        return WSGIRequest(environ)


def _to_wsgi(text: str) -> str:
    """WSGI carries paths as bytes decoded as latin-1."""
    return text.encode().decode("iso-8859-1")


def _kept_cookies(request: HttpRequest) -> str:
    """The ``Cookie`` header of the rebuilt request: the language cookie, and the session cookie
    when the page is that session's (the shared anonymous page never gets anybody's)."""
    cookies = request.COOKIES
    kept = []
    language_cookie = settings.LANGUAGE_COOKIE_NAME
    if language_cookie in cookies:
        kept.append((language_cookie, cookies[language_cookie]))
    session_cookie = settings.SESSION_COOKIE_NAME
    if session_cookie in cookies and _page_of_a_session(request):
        kept.append((session_cookie, cookies[session_cookie]))
    return "; ".join(f"{name}={value}" for name, value in kept)


def _page_of_a_session(request: HttpRequest) -> bool:
    """True when the page is keyed by the visitor's session or by a user logged in with it."""
    return any(part[0] in ("session", "user") for part in keys.visitor(request))
