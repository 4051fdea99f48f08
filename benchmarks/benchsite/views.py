"""The views: a bare floor, and the same unoptimised page behind each cache.

The page lists the 20 latest articles with author and tags, plus a sidebar of tags and authors.
It is deliberately unoptimised (N+1 queries for tags and for the authors' article counts) like
many real pages: 33 SQL queries and about 11 kB of HTML per render.
"""

from __future__ import annotations

import functools

import redis
from cachalot.api import cachalot_disabled
from cacheops import cached_view_as
from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_page as django_cache_page
from django.views.decorators.vary import vary_on_cookie

from jimmypage.cache import cache_page as jimmypage_cache_page

from .contenders import RENDER_COUNTER_PREFIX
from .models import Article, Author, Tag
from .tierless import tierless


@functools.cache
def _counter_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def count_render(key: str) -> None:
    """Count one render of the page for contender ``key`` (only when the harness asks)."""
    if settings.COUNT_RENDERS:
        _counter_client().incr(RENDER_COUNTER_PREFIX + key)


def render_page(request, **extra):
    """The page itself: every query runs here, inside the view."""
    context = {
        "articles": Article.objects.select_related("author")[:20],
        "tag_cloud": Tag.objects.annotate(article_count=Count("articles")).order_by("name"),
        "authors": Author.objects.all(),
        **extra,
    }
    return render(request, "benchsite/page.html", context)


def page_view(key: str, *, query_cache: bool = False):
    """A view rendering the page for contender ``key``; cachalot only where ``query_cache``."""

    def view(request):
        count_render(key)
        if query_cache:
            return render_page(request)
        with cachalot_disabled():
            return render_page(request)

    view.__name__ = view.__qualname__ = f"page_{key}"
    return view


def bare(request):
    """The floor: the whole middleware stack, and a view that does nothing."""
    return HttpResponse("ok")


uncached = page_view("uncached")
django_cache = django_cache_page(settings.PAGE_TIMEOUT)(page_view("django"))
cacheops = cached_view_as(
    Article, Author, Tag, Article.tags.through, timeout=settings.PAGE_TIMEOUT
)(page_view("cacheops"))
cachalot = page_view("cachalot", query_cache=True)
jimmypage = jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(page_view("jimmypage"))
jimmypage_early = jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(page_view("jimmypage_early"))
jimmypage_remote = tierless(
    jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(page_view("jimmypage_remote"))
)
jimmypage_early_remote = tierless(
    jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(page_view("jimmypage_early_remote"))
)


def signed_page_view(key: str):
    """The page as a signed-in user sees it: the same, saying who is signed in."""

    def view(request):
        count_render(key)
        with cachalot_disabled():
            return render_page(request, viewer=request.user.get_username())

    view.__name__ = view.__qualname__ = f"page_{key}"
    return view


signed_django = django_cache_page(settings.PAGE_TIMEOUT)(
    vary_on_cookie(signed_page_view("signed_django"))
)
signed_jimmypage = jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(
    signed_page_view("signed_jimmypage")
)
signed_early = jimmypage_cache_page(timeout=settings.PAGE_TIMEOUT)(signed_page_view("signed_early"))
