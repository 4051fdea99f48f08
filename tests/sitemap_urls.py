"""The test site's URLs plus sitemaps and a failing page, for ``manage.py jimmypage warm``.

Used with ``override_settings(ROOT_URLCONF="tests.sitemap_urls")``; Django's sitemap views need
``django.contrib.sitemaps`` in ``INSTALLED_APPS`` for their templates.
"""

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import index, sitemap
from django.http import HttpResponse
from django.urls import path

from jimmypage.cache import cache_page
from tests.testapp.models import Article
from tests.testapp.urls import urlpatterns as site_patterns


class PagesSitemap(Sitemap):
    """Fixed pages of the test site."""

    def items(self):
        return ["/page/", "/template/", "/static/"]

    def location(self, item):
        return item


class ArticlesSitemap(Sitemap):
    """One page per article, served by the ``slug`` view."""

    def items(self):
        return Article.objects.order_by("pk")

    def location(self, item):
        return f"/slug/article-{item.pk}/"


class BrokenSitemap(Sitemap):
    def items(self):
        return ["/broken/"]

    def location(self, item):
        return item


SITEMAPS = {"pages": PagesSitemap, "articles": ArticlesSitemap}
WITH_BROKEN = {**SITEMAPS, "broken": BrokenSitemap}


@cache_page
def broken(request):
    raise RuntimeError("this page always fails")


def not_xml(request):
    return HttpResponse("<urlset><url><loc>/page/</loc>", content_type="application/xml")


urlpatterns = [
    *site_patterns,
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}),
    path("broken-sitemap.xml", sitemap, {"sitemaps": WITH_BROKEN}),
    path("not-xml.xml", not_xml),
    path("sitemap-index.xml", index, {"sitemaps": SITEMAPS, "sitemap_url_name": "section"}),
    path("sitemap-<section>.xml", sitemap, {"sitemaps": SITEMAPS}, name="section"),
    path("broken/", broken),
]
