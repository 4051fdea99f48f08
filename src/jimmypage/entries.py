"""Responses to and from the compact records stored in the cache.

A page entry is a plain tuple, cheap to pickle and unpickle, never a pickled ``HttpResponse``:
``(PAGE, status, headers, body, stamp, rendered_at, attributes)``. A page whose response named
request headers in ``Vary`` stores a marker at its base key instead, ``(VARY, meta_names)``, and
the page itself under a key that includes the values of those headers.

``attributes`` are what the view (or a decorator around it) set on the response object for the
middleware after it: Django's ``XFrameOptionsMiddleware`` reads ``xframe_options_exempt``, its
``ContentSecurityPolicyMiddleware`` (6.0+) ``_csp_config`` and ``_csp_ro_config``, and
third-party middleware read others (django-csp's ``_csp_exempt``, ``_csp_update``...). A hit
must look to the rest of the stack exactly like the miss did, so every attribute holding plain
data is kept; objects (a template response's context, the request) are not.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpResponse
from django.http.response import ResponseHeaders

from .rules import header_tokens

PAGE = "p2"
VARY = "v1"

Entry = tuple  # (PAGE, status, headers, body, stamp, rendered_at, attributes)

# Django's ResponseHeaders keeps ``{lowercased name: (name, value)}`` (a CaseInsensitiveMapping).
_HEADERS_STORE = isinstance(getattr(ResponseHeaders({}), "_store", None), dict)

# Attributes that describe how a response was made, not what the middleware after the view must
# know; ``jimmypage_*`` are set by jimmypage on each answer. Others that every response has are
# kept only when the view changed them (a custom ``reason`` phrase, say).
_NOT_KEPT = frozenset(
    {
        "headers",
        "cookies",
        "closed",
        "status_code",
        "_container",
        "_resource_closers",
        "_handler_class",
        "template_name",
        "context_data",
        "using",
        "_request",
        "_post_render_callbacks",
        "_is_rendered",
    }
)
_DEFAULTS = vars(HttpResponse())
_PLAIN = (str, bytes, int, float, bool, type(None))


def page_entry(
    response: HttpResponse, stamp, rendered_at: float | None = None, without: tuple[str, ...] = ()
) -> Entry:
    """The record of a rendered, cacheable ``response`` stamped with its generations.

    ``rendered_at`` defaults to now; the headers named in ``without`` are left out.
    """
    headers = tuple(response.headers.items())
    if without:
        dropped = {name.lower() for name in without}
        headers = tuple(item for item in headers if item[0].lower() not in dropped)
    attributes = response_attributes(response)
    when = time.time() if rendered_at is None else rendered_at
    return (PAGE, response.status_code, headers, response.content, stamp, when, attributes)


def response_attributes(response: HttpResponse) -> dict[str, Any]:
    """The plain-data attributes set on ``response`` for the middleware that runs after the view."""
    return {
        name: value
        for name, value in vars(response).items()
        if name not in _NOT_KEPT
        and not name.startswith("jimmypage_")
        and (name not in _DEFAULTS or value != _DEFAULTS[name])
        and _is_plain(value)
    }


def _is_plain(value: Any) -> bool:
    """True for data that survives any cache serializer unchanged: no objects with behaviour."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain(key) and _is_plain(item) for key, item in value.items())
    return False


def is_page(value: Any) -> bool:
    return type(value) is tuple and len(value) == 7 and value[0] == PAGE


def is_vary_marker(value: Any) -> bool:
    return type(value) is tuple and len(value) == 2 and value[0] == VARY


def to_response(entry: Entry) -> HttpResponse:
    """A new response with the stored status, headers, body and attributes."""
    _, status, headers, body, _, _, attributes = entry
    if _HEADERS_STORE:
        # Django checked these headers (no newline, latin-1) when the page was made: a hit sets
        # them as they were stored instead of checking each again (about 2.5 µs of a hit).
        response = HttpResponse(body, status=status)
        response.headers._store = {name.lower(): (name, value) for name, value in headers}
    else:
        response = HttpResponse(body, status=status, headers=dict(headers))
    if attributes:
        response.__dict__.update(attributes)
    return response


def stamp_of(entry: Entry):
    """The generations the entry's page was rendered at (see ``generations.Stamp``)."""
    return entry[4]


def age_of(entry: Entry) -> float:
    """Seconds since the entry's page was rendered."""
    return max(0.0, time.time() - entry[5])


def vary_meta_names(response: HttpResponse) -> tuple[str, ...]:
    """The ``request.META`` names of the headers that ``response`` lists in ``Vary``, sorted."""
    if not response.has_header("Vary"):
        return ()
    names = set()
    for token in header_tokens(response.headers["Vary"]):
        header = token.upper().replace("-", "_")
        names.add(header if header in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{header}")
    return tuple(sorted(names))


def vary_marker(meta_names: tuple[str, ...]) -> tuple:
    return (VARY, meta_names)
