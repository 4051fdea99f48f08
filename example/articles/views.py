"""Views of the articles, cached whole by jimmypage."""

import time

from django.shortcuts import get_object_or_404, render

from jimmypage.cache import cache_page

from .models import Article


@cache_page
def article_list(request):
    """Home page: every article with its author and tags."""
    # Simulates an expensive page, so that a cache hit is visibly faster than a render.
    time.sleep(0.3)
    # Deliberately unoptimised (no select_related / prefetch_related): the cache pays off.
    articles = Article.objects.all()
    return render(request, "articles/article_list.html", {"articles": articles})


@cache_page(timeout=3600)
def article_detail(request, pk):
    """One article, with the other articles of its author."""
    article = get_object_or_404(Article, pk=pk)
    return render(request, "articles/article_detail.html", {"article": article})
