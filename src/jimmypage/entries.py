"""Responses to and from the compact records stored in the cache.

A page entry is a plain tuple, cheap to pickle and unpickle, never a pickled ``HttpResponse``:
``(PAGE, status, headers, body, stamp, rendered_at)``. A page whose response named request
headers in ``Vary`` stores a marker at its base key instead, ``(VARY, meta_names)``, and the page
itself under a key that includes the values of those headers.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpResponse

from .rules import header_tokens

PAGE = "p1"
VARY = "v1"

Entry = tuple  # (PAGE, status, headers, body, stamp, rendered_at)


def page_entry(response: HttpResponse, stamp) -> Entry:
    """The record of a rendered, cacheable ``response`` stamped with its generations."""
    headers = tuple(response.headers.items())
    return (PAGE, response.status_code, headers, response.content, stamp, time.time())


def is_page(value: Any) -> bool:
    return type(value) is tuple and len(value) == 6 and value[0] == PAGE


def is_vary_marker(value: Any) -> bool:
    return type(value) is tuple and len(value) == 2 and value[0] == VARY


def to_response(entry: Entry) -> HttpResponse:
    """A new response with the stored status, headers and body."""
    _, status, headers, body, _, _ = entry
    return HttpResponse(body, status=status, headers=dict(headers))


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
