"""``Cache-Control`` and ``Age`` for the caches after jimmypage: browsers, proxies, CDNs, Varnish.

jimmypage knows when a page changes; the caches downstream only know what the headers tell
them. The rules, for every page jimmypage stores or serves:

* A page of one visitor (a user, a session, an ``Authorization`` header: ``keys.visitor``) is
  ``private, no-cache``: a browser may keep it and must ask again before each use (a cheap
  ``304`` while it is current); no shared cache may keep it. A view's own ``Cache-Control`` on
  such a page is kept, made ``private``.
* A shared page (anonymous visitors) gets the directives of
  ``JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL``, by default ``max-age=0``: caches may keep it and must
  revalidate it. A fresh page's ``max-age`` and ``s-maxage`` count from its render, as HTTP's
  ``Age`` does: a page rendered ``Age`` seconds ago is sent with ``max-age=Age+N``, so that every
  cache keeps it ``N`` seconds from now. A stale page (its refresh is under way) is sent with
  ``max-age=0`` (and ``s-maxage=0``): already stale downstream, usable there only within
  ``stale-while-revalidate`` / ``stale-if-error`` (RFC 5861) while they fetch it again.
* A view's own ``Cache-Control`` on a shared page is kept as it is, and so is a view's own
  ``Expires`` without one (a ``max-age`` would override it, RFC 9111 5.3).
* ``Age`` (whole seconds since the render) on every page served from the cache.

The names of the headers added here are kept on the response (``jimmypage_added``), so that a
copy of the whole response (``AnonymousHitMiddleware``) stores the view's headers, not these.
"""

from __future__ import annotations

from django.core.checks import Error
from django.http import HttpResponseBase
from django.utils.cache import patch_cache_control

from . import conf, entries

SETTING = "JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL"
DIRECTIVES = ("max-age", "s-maxage", "stale-while-revalidate", "stale-if-error")
PER_VISITOR = "private, no-cache"
ADDED = "jimmypage_added"


def options() -> dict:
    """The site's directives for shared pages, with ``None`` for those it does not ask for."""
    memo = conf.memo(" downstream")
    if not memo:
        chosen = conf.get(SETTING) or {}
        memo.update({name: chosen.get(name) for name in DIRECTIVES})
        memo["max-age"] = memo["max-age"] or 0
        # What every answer sends after max-age and s-maxage.
        memo[" tail"] = "".join(
            f", {name}={int(chosen[name])}"
            for name in ("stale-while-revalidate", "stale-if-error")
            if chosen.get(name) is not None
        )
    return memo


def shared_cache_control(age: int, fresh: bool) -> str:
    """The ``Cache-Control`` of a shared page ``age`` seconds old (see the module's rules)."""
    chosen = options()
    max_age, s_maxage = chosen["max-age"], chosen["s-maxage"]
    value = f"max-age={age + max_age if fresh and max_age else 0}"
    if s_maxage is not None:
        value += f", s-maxage={age + s_maxage if fresh and s_maxage else 0}"
    return value + chosen[" tail"]


def apply(response: HttpResponseBase, shared: bool, age: float | None, fresh: bool) -> None:
    """Add ``Cache-Control`` (unless the view set one) and ``Age`` (when ``age`` is given)."""
    store = entries.header_store(response)
    added = []
    if age is not None:
        entries.set_plain_header(response, "Age", str(int(age)))
        added.append("Age")
    if not _has(response, store, "cache-control") and not (
        shared and _has(response, store, "expires")
    ):
        value = shared_cache_control(int(age or 0), fresh) if shared else PER_VISITOR
        entries.set_plain_header(response, "Cache-Control", value)
        added.append("Cache-Control")
    elif not shared:
        patch_cache_control(response, private=True)
    setattr(response, ADDED, tuple(added))


def _has(response: HttpResponseBase, store: dict | None, lowered: str) -> bool:
    return lowered in store if store is not None else response.has_header(lowered)


def added_headers(response: HttpResponseBase) -> tuple[str, ...]:
    """The headers ``apply`` added to ``response`` (none if it did not see it)."""
    return getattr(response, ADDED, ())


def setting_errors() -> list[Error]:
    """System check: the setting names known directives, each with seconds or ``None``."""
    chosen = conf.get(SETTING)
    errors = []
    for name, value in chosen.items() if isinstance(chosen, dict) else ():
        seconds = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if name not in DIRECTIVES or not (seconds or value is None):
            errors.append(
                Error(
                    f"{SETTING}[{name!r}] is {value!r}.",
                    hint=f"Keys: {', '.join(DIRECTIVES)}; values: seconds (0 or more) or None.",
                    id="jimmypage.E009",
                )
            )
    return errors
