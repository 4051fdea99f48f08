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
from django.http.cookie import SimpleCookie
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

# What ``to_response`` gives each response of its own; every other attribute of a new response
# holds a value that no response can change in place.
_OWN_PER_RESPONSE = frozenset({"headers", "cookies", "_resource_closers", "_container"})


def _fixed_attributes() -> dict[str, Any] | None:
    """The attributes every new ``HttpResponse`` starts with, besides those it owns, when a hit
    may copy them instead of running the constructor; ``None`` where Django's response holds
    anything else (a new attribute of a later version): hits then use the constructor."""
    if not _HEADERS_STORE or not _DEFAULTS.keys() >= _OWN_PER_RESPONSE:
        return None
    if set(vars(_DEFAULTS["headers"])) != {"_store"}:
        return None
    fixed = {name: value for name, value in _DEFAULTS.items() if name not in _OWN_PER_RESPONSE}
    if not all(value is None or type(value) in (bool, int, str) for value in fixed.values()):
        return None
    return fixed


_FIXED = _fixed_attributes()


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
    if _FIXED is not None and type(body) is bytes:
        response = _made_response(status, headers, body)
    elif _HEADERS_STORE:
        response = HttpResponse(body, status=status)
        response.headers._store = _header_store(headers)
    else:
        response = HttpResponse(body, status=status, headers=dict(headers))
    if attributes:
        response.__dict__.update(attributes)
    return response


def _made_response(status: int, headers: tuple, body: bytes) -> HttpResponse:
    """What ``HttpResponse(body, status=status)`` with ``headers`` would be, built from its
    parts: the constructor checks what Django already checked when the page was made (the
    status, each header: no newline, latin-1), and costs several µs of a hit."""
    response = HttpResponse.__new__(HttpResponse)
    state = response.__dict__
    state.update(_FIXED)
    state["status_code"] = status
    state["headers"] = response_headers = ResponseHeaders.__new__(ResponseHeaders)
    response_headers._store = _header_store(headers)
    state["cookies"] = SimpleCookie()
    state["_resource_closers"] = []
    state["_container"] = [body]
    return response


def header_store(response) -> dict[str, tuple[str, str]] | None:
    """The dict in which ``response`` keeps its headers (``{lowercased name: (name, value)}``),
    for headers that jimmypage made itself (ASCII, no newline) and reads or sets on every hit
    without Django's checks; ``None`` where Django keeps them otherwise."""
    store = getattr(response.headers, "_store", None) if _HEADERS_STORE else None
    return store if type(store) is dict else None


def set_plain_header(response, name: str, value: str) -> None:
    """``response[name] = value``; a name and a value of printable ASCII (which Django's checks
    would pass as they are) go straight into ``header_store``, saving those checks on a hit."""
    store = header_store(response)
    if store is not None and _plain(name) and _plain(value):
        store[name.lower()] = (name, value)
    else:
        response.headers[name] = value


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _header_store(headers: tuple) -> dict[str, tuple[str, str]]:
    """``ResponseHeaders._store`` for ``headers``, stored as Django had checked them."""
    return {name.lower(): (name, value) for name, value in headers}


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
