"""Validators of stored pages, and conditional requests answered from the cache (RFC 9110 13).

A page gets its validators once, when it is stored: a strong ``ETag`` from the digest of its
body (the one Django's ``ConditionalGetMiddleware`` would compute, so the two always agree) and
a ``Last-Modified`` of the moment it was rendered. A view's own ``ETag`` or ``Last-Modified``
wins and is kept as it is. A hit then compares strings: the tags the request holds against the
tag already in the entry's headers.

Only a page served from the cache (a hit, fresh or stale) is answered with ``304 Not
Modified``: a miss or a bypass runs the view and answers in full, as it would without
jimmypage (``ConditionalGetMiddleware``, when installed, still applies Django's own rules to
them afterwards).
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from . import downstream


def add_validators(response: HttpResponseBase) -> None:
    """Give a page about to be stored an ``ETag`` and a ``Last-Modified``, unless it has them."""
    if not response.has_header("ETag"):
        set_response_etag(response)
    if not response.has_header("Last-Modified"):
        response.headers["Last-Modified"] = http_date(time.time())


def is_conditional(request: HttpRequest) -> bool:
    """True when the request carries a precondition of RFC 9110 13.1 (If-Range aside)."""
    meta = request.META
    return (
        "HTTP_IF_NONE_MATCH" in meta
        or "HTTP_IF_MODIFIED_SINCE" in meta
        or "HTTP_IF_MATCH" in meta
        or "HTTP_IF_UNMODIFIED_SINCE" in meta
    )


def from_cache(
    request: HttpRequest, response: HttpResponseBase, age: float, fresh: bool, shared: bool
) -> HttpResponseBase:
    """A page served from the cache, with its downstream headers: itself, or a 304 (or a 412).

    ``age`` is the page's age in seconds, ``fresh`` false for a stale page, ``shared`` false for
    a page of one visitor.
    """
    downstream.apply(response, shared=shared, age=age, fresh=fresh)
    if not is_conditional(request):
        return response
    return evaluate(request, response)


def evaluate(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Evaluate the request's preconditions against ``response`` (Django's rules, RFC 9110 13.2.2).

    A ``304`` keeps the headers RFC 9110 15.4.5 asks for (Django's ``_not_modified``) and the
    ``Age``. When the request matched only the weak form of a strong tag, its copy was
    transformed after the view (``GZipMiddleware`` weakens the tag of what it compresses and adds
    ``Vary: Accept-Encoding``): the 304 names the tag as the client holds it, and that ``Vary``.
    """
    etag = response.get("ETag")
    last_modified = None
    meta = request.META
    if "HTTP_IF_MODIFIED_SINCE" in meta or "HTTP_IF_UNMODIFIED_SINCE" in meta:
        # Parsing a date costs more than the rest: only for the requests that compare dates.
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
    answer = get_conditional_response(
        request, etag=etag, last_modified=last_modified, response=response
    )
    if answer is response or answer.status_code != 304:
        return answer
    if "Age" in response:
        answer.headers["Age"] = response.headers["Age"]
    if etag and not etag.startswith("W/") and "W/" in meta.get("HTTP_IF_NONE_MATCH", ""):
        held = parse_etags(meta["HTTP_IF_NONE_MATCH"])
        if etag not in held and f"W/{etag}" in held:
            answer.headers["ETag"] = f"W/{etag}"
            patch_vary_headers(answer, ("Accept-Encoding",))
    answer.jimmypage_added = getattr(response, "jimmypage_added", ())
    return answer
