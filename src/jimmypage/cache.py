"""``cache_page``: serve a view's pages from the cache, fresh or stale, never waiting twice.

The request path, in order:

1. Bypass (call the view, store nothing) when jimmypage is disabled, the method is not GET or
   HEAD, or messages are pending for the visitor.
2. One ``get_many`` fetches the page entry and the current generation. A page that varies on
   request headers costs one more ``get`` for the variant.
3. Entry fresh: serve it. Entry stale: serve it, and start one refresh for this page and
   generation. No entry: render now, store, serve.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from . import backend, conf, entries, generations, keys, log, refresh, rules

HIT, STALE, MISS, BYPASS = "hit", "stale", "miss", "bypass"


@dataclass(slots=True)
class Plan:
    """What the lookup decided for one request, before the view runs (if it runs at all)."""

    status: str
    reason: str
    response: HttpResponseBase | None = None
    age: float = 0.0
    base: str = ""
    generation: str | None = None
    ticket: refresh.Ticket | None = None


class PageCache:
    """A reusable decorator: it holds options only, never state of a view or a request."""

    def __init__(self, timeout: int | None = None) -> None:
        self.timeout = timeout

    def __call__(self, view):
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
                plan = await sync_to_async(self.lookup)(request)
                if plan.response is not None:
                    return self.answer(request, plan.response, plan)
                response = await view(request, *args, **kwargs)
                return await sync_to_async(self.after_render)(request, response, plan)

            markcoroutinefunction(async_wrapper)
            return functools.wraps(view)(async_wrapper)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
            plan = self.lookup(request)
            if plan.response is not None:
                return self.answer(request, plan.response, plan)
            response = view(request, *args, **kwargs)
            return self.after_render(request, response, plan)

        return functools.wraps(view)(wrapper)

    def lookup(self, request: HttpRequest) -> Plan:
        """Decide from the cache, in one round trip when the page has no ``Vary``."""
        ticket = refresh.ticket_of(request)
        if ticket is not None:
            return Plan(
                MISS,
                "refresh",
                base=keys.base_key(request),
                generation=generations.read(),
                ticket=ticket,
            )
        reason = rules.bypass_reason(request)
        if reason is not None:
            return Plan(BYPASS, reason)
        base = keys.base_key(request)
        generation_key = generations.generation_key()
        found = backend.get_many([base, generation_key])
        if found is None:
            return Plan(BYPASS, "cache unavailable")
        entry = found.get(base)
        generation = generations.settle_pending(found.get(generation_key))
        key, meta_names = base, ()
        if entries.is_vary_marker(entry):
            meta_names = entry[1]
            key = keys.variant_key(base, request, meta_names)
            entry = backend.get(key)
        if not entries.is_page(entry):
            return Plan(MISS, "no entry", base=base, generation=generations.ensure(generation))
        response = entries.to_response(entry)
        age = entries.age_of(entry)
        if generation is not None and entries.generation_of(entry) == generation:
            return Plan(HIT, "fresh", response, age)
        started = refresh.start(request, key, generation, meta_names)
        return Plan(
            STALE, "refresh started" if started else "refresh already running", response, age
        )

    def after_render(self, request: HttpRequest, response: HttpResponseBase, plan: Plan):
        """Store what the view rendered (now, or once a template response has rendered)."""
        if plan.ticket is not None:
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            self.finish_refresh(request, response, plan)
        elif plan.status == MISS and request.method == "GET":
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.add_post_render_callback(
                    lambda rendered: self.store(request, rendered, plan) and None
                )
            else:
                self.store(request, response, plan)
        return self.answer(request, response, plan)

    def store(self, request: HttpRequest, response: HttpResponseBase, plan: Plan) -> str | None:
        """Store a rendered page under its key; the key, or ``None`` if it may not be stored.

        The entry records the generation read before the render began, so a write that
        committed during the render leaves it stale.
        """
        refusal = rules.store_refusal(request, response)
        if refusal is None and plan.generation is None:
            refusal = "cache unavailable"
        if refusal is not None:
            log.decision("not stored", refusal, request)
            return None
        timeout = conf.entry_timeout(self.timeout)
        page = entries.page_entry(response, plan.generation)
        meta_names = entries.vary_meta_names(response)
        if not meta_names:
            return plan.base if backend.put(plan.base, page, timeout) else None
        key = keys.variant_key(plan.base, request, meta_names)
        values = {plan.base: entries.vary_marker(meta_names), key: page}
        return key if backend.put_many(values, timeout) else None

    def finish_refresh(self, request: HttpRequest, response: HttpResponseBase, plan: Plan):
        """Store a refreshed page, or remove the stale one it can no longer replace."""
        ticket = plan.ticket
        key = self.store(request, response, plan)
        if key == ticket.key:
            ticket.outcome = refresh.STORED
        else:
            # The page now answers differently (not cacheable, or for another key): the stale
            # entry must go so that the next visitor gets the live answer.
            backend.delete(ticket.key)
            ticket.outcome = refresh.REMOVED

    def answer(self, request: HttpRequest, response: HttpResponseBase, plan: Plan):
        """Label the response with what the cache did, for the status header and the log."""
        response.jimmypage_status = plan.status
        response.jimmypage_age = plan.age
        header = conf.status_header()
        if header:
            response[header] = plan.status
        log.decision(plan.status, plan.reason, request)
        return response


def cache_page(view=None, *, timeout: int | None = None):
    """Cache a view's pages; use as ``@cache_page`` or ``@cache_page(timeout=seconds)``.

    ``timeout`` (seconds, 0 = never expires) defaults to ``JIMMY_PAGE_CACHE_SECONDS``. Like
    Django's decorator, ``@cache_page(60)`` also sets the timeout.
    """
    if isinstance(view, int) and not isinstance(view, bool):
        view, timeout = None, view
    decorator = PageCache(timeout=timeout)
    return decorator if view is None else decorator(view)
