"""``cache_page``: serve a view's pages from the cache, fresh or stale, never waiting twice.

The request path, in order:

1. Bypass (call the view, store nothing) when jimmypage is disabled, the method is not GET or
   HEAD, or messages are pending for the visitor.
2. One ``get_many`` fetches the page entry and the current generation(s). A page that varies on
   request headers costs one more ``get`` for the variant.
3. Entry fresh: serve it. Entry stale: serve it, and start one refresh for this page and
   generation. No entry: render now, store, serve.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from . import (
    backend,
    conditional,
    conf,
    downstream,
    entries,
    generations,
    keys,
    log,
    purge,
    reads,
    refresh,
    replicas,
    rules,
    signals,
    stats,
    tier,
    users,
)

HIT, STALE, MISS, BYPASS = "hit", "stale", "miss", "bypass"
SIGNALS = {
    HIT: signals.page_hit,
    STALE: signals.page_stale,
    MISS: signals.page_miss,
    BYPASS: signals.page_bypassed,
}


@dataclass(slots=True)
class Plan:
    """What the lookup decided for one request, before the view runs (if it runs at all)."""

    status: str
    reason: str
    response: HttpResponseBase | None = None
    age: float = 0.0
    stamp: generations.Stamp | None = None  # of the page served, or stored once rendered
    base: str = ""
    before: generations.Before | None = None
    reads: set[str] | None = None
    ticket: refresh.Ticket | None = None
    users_token: str | None = None  # the users generation, for a signed-in user's page
    shared: bool | None = None  # the page is every anonymous visitor's (None: not yet known)


class PageCache:
    """A reusable decorator: it holds options only, never state of a view or a request."""

    def __init__(self, timeout: int | None = None, depends_on: Iterable = ()) -> None:
        self.timeout = timeout
        self.depends_on = tuple(depends_on)

    def __call__(self, view):
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
                plan = await sync_to_async(self.lookup)(request)
                if plan.response is not None:
                    return self.answer(request, plan.response, plan)
                self.start_recording(plan)
                try:
                    response = await view(request, *args, **kwargs)
                except BaseException as exc:
                    self.failed(plan, exc)
                    raise
                return await sync_to_async(self.after_render)(request, response, plan)

            markcoroutinefunction(async_wrapper)
            return functools.wraps(view)(async_wrapper)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
            plan = self.lookup(request)
            if plan.response is not None:
                return self.answer(request, plan.response, plan)
            self.start_recording(plan)
            try:
                response = view(request, *args, **kwargs)
            except BaseException as exc:
                self.failed(plan, exc)
                raise
            return self.after_render(request, response, plan)

        return functools.wraps(view)(wrapper)

    def lookup(self, request: HttpRequest) -> Plan:
        """Decide from the cache, in one round trip when the page has no ``Vary``."""
        ticket = refresh.ticket_of(request)
        if ticket is not None:
            if not refresh.admit(request, ticket):
                return Plan(BYPASS, "refresh deferred", HttpResponse(status=204), ticket=ticket)
            base = keys.base_key(request)
            user_keys = users.fetch_keys(request)
            plan = Plan(MISS, "refresh", base=base, ticket=ticket)
            return self.before_render(request, plan, generations.read(), None, user_keys)
        reason = rules.bypass_reason(request)
        if reason is not None:
            return Plan(BYPASS, reason)
        who = keys.visitor(request)
        base = keys.base_key(request, who)
        local = tier.fresh_page(base, request)
        if local is not None:
            response, age = entries.to_response(local), entries.age_of(local)
            stamp, shared = entries.stamp_of(local), who == keys.ANONYMOUS
            return Plan(HIT, tier.LOCAL, response, age, stamp, shared=shared)
        seen = tier.before_read()
        generation_keys = generations.fetch_keys(generations.hint(base))
        user_keys = users.fetch_keys(request)
        found = backend.get_many([base, *generation_keys, *user_keys])
        if found is None:
            return Plan(BYPASS, "cache unavailable")
        global_token = generations.settle_pending(found.get(generation_keys[0]))
        entry = found.get(base)
        key, meta_names = base, ()
        if entries.is_vary_marker(entry):
            meta_names = entry[1]
            key = keys.variant_key(base, request, meta_names)
            entry = backend.get(key)
        if not entries.is_page(entry):
            plan = Plan(MISS, "no entry", base=base)
            # A HEAD is answered from the GET page but never stored: nothing to stamp.
            if request.method != "GET":
                return plan
            return self.before_render(request, plan, global_token, found, user_keys)
        stamp = entries.stamp_of(entry)
        generations.remember(base, stamp)
        response, age = entries.to_response(entry), entries.age_of(entry)
        found = generations.with_needed(stamp, found, generation_keys)
        if generations.is_current(stamp, global_token, found):
            timeout = conf.entry_timeout(self.timeout)
            tier.keep_page(base, key, meta_names, entry, found, seen, timeout)
            return Plan(HIT, "fresh", response, age, stamp, shared=who == keys.ANONYMOUS)
        generation = generations.fingerprint(stamp, global_token, found)
        started = refresh.start(request, key, generation)
        reason = "refresh started" if started else "refresh already running"
        return Plan(STALE, reason, response, age)

    def before_render(self, request, plan: Plan, global_token, found, user_keys) -> Plan:
        """``plan`` with the generations its render will be stamped with (none if unavailable)."""
        plan.before = generations.before_render(global_token)
        try:
            plan.users_token = users.token_for_render(request, found, user_keys)
        except LookupError:
            plan.before = None
        return plan

    def start_recording(self, plan: Plan) -> None:
        """A page to store is rendered from the primary database (``replicas``); in per-table
        mode, record the tables the render is about to read."""
        if plan.before is not None:
            replicas.pin()
        if plan.before is not None and plan.before.tables is not None:
            plan.reads = reads.start()

    def stop_recording(self, plan: Plan) -> None:
        replicas.unpin()
        if plan.reads is not None:
            reads.stop()

    def failed(self, plan: Plan, exc: BaseException) -> None:
        """The view raised: stop recording, and tell a refresh what went wrong."""
        self.stop_recording(plan)
        if plan.ticket is not None:
            plan.ticket.error = exc

    def after_render(self, request: HttpRequest, response: HttpResponseBase, plan: Plan):
        """Store what the view rendered (now, or once a template response has rendered).

        Anything but a response (a bug in the view) goes back untouched, so that Django's
        handler reports it as it would without the cache.
        """
        if not isinstance(response, HttpResponseBase):
            self.stop_recording(plan)
            return response
        if plan.ticket is not None:
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            self.finish_refresh(request, response, plan)
        elif plan.status == MISS and request.method == "GET":
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:

                def store_once_rendered(rendered: HttpResponseBase) -> None:
                    self.store(request, rendered, plan)

                response.add_post_render_callback(store_once_rendered)
                return self.answer(request, response, plan)
            self.store(request, response, plan)
        self.stop_recording(plan)
        return self.answer(request, response, plan)

    def store(self, request: HttpRequest, response: HttpResponseBase, plan: Plan) -> str | None:
        """Store a rendered page under its key; the key, or ``None`` if it may not be stored.

        The entry's stamp holds the generations read before the render began, so a write that
        committed during the render leaves it stale.
        """
        self.stop_recording(plan)
        refusal = rules.store_refusal(request, response)
        if refusal is None and plan.before is None:
            refusal = "cache unavailable"
        if refusal is None:
            refusal = users.store_refusal(request, plan.users_token)
        if refusal is not None:
            log.decision("not stored", refusal, request)
            return None
        timeout = conf.entry_timeout(self.timeout)
        stamp = users.stamped(plan.before.stamp(self.dependencies(plan.reads)), plan.users_token)
        conditional.add_validators(response)
        purge.tag(response, stamp)
        downstream.apply(response, shared=keys.is_shared(request), age=None, fresh=True)
        page = entries.page_entry(response, stamp, without=downstream.added_headers(response))
        response.jimmypage_stamp = stamp  # for the middleware that answers cookieless visitors
        meta_names = entries.vary_meta_names(response)
        if not meta_names:
            return plan.base if backend.put(plan.base, page, timeout) else None
        key = keys.variant_key(plan.base, request, meta_names)
        values = {plan.base: entries.vary_marker(meta_names), key: page}
        return key if backend.put_many(values, timeout) else None

    def dependencies(self, tables_read: set[str] | None) -> set[str]:
        """The tables a page depends on: those its render read, and those declared."""
        declared = {
            item if isinstance(item, str) else item._meta.db_table for item in self.depends_on
        }
        return declared | (tables_read or set())

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
        """Label the response with what the cache did: header, log, signal, counter.

        A page served from the cache gets its downstream headers, and may become a 304.
        """
        if plan.response is not None and plan.ticket is None:
            fresh, shared = plan.status == HIT, plan.shared
            if shared is None:
                shared = keys.is_shared(request)
            response = conditional.from_cache(request, response, plan.age, fresh, shared)
        response.jimmypage_status = plan.status
        response.jimmypage_age = plan.age
        response.jimmypage_timeout = conf.entry_timeout(self.timeout)
        if plan.stamp is not None:
            response.jimmypage_stamp = plan.stamp
        header = conf.status_header()
        if header:
            entries.set_plain_header(response, header, tier.status_label(plan.status, plan.reason))
        log.decision(plan.status, plan.reason, request)
        if plan.ticket is None:
            stats.count(plan.status)
            SIGNALS[plan.status].send(None, request=request, age=plan.age, reason=plan.reason)
        return response


def cache_page(view=None, *, timeout: int | None = None, depends_on: Iterable = ()):
    """Cache a view's pages; use as ``@cache_page`` or ``@cache_page(timeout=seconds)``.

    ``timeout`` (seconds, 0 = never expires) defaults to ``JIMMY_PAGE_CACHE_SECONDS``. Like
    Django's decorator, ``@cache_page(60)`` also sets the timeout. ``depends_on`` names models
    or tables the page depends on besides those its render reads (per-table mode).
    """
    if isinstance(view, int) and not isinstance(view, bool):
        view, timeout = None, view
    decorator = PageCache(timeout=timeout, depends_on=depends_on)
    return decorator if view is None else decorator(view)
