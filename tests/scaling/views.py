"""Pages of the scaling tests: the articles' titles, read through the site's routers."""

from django.http import HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path

from jimmypage.cache import cache_page
from tests.testapp.models import Article

TITLES = engines["django"].from_string("{% for a in articles %}{{ a.title }},{% endfor %}")


@cache_page
def titles(request):
    return HttpResponse(",".join(Article.objects.order_by("pk").values_list("title", flat=True)))


@cache_page
def titles_template(request):
    # The queryset is lazy: the template reads it after the view returned.
    return TemplateResponse(request, TITLES, {"articles": Article.objects.order_by("pk")})


@cache_page
def count(request, number):
    return HttpResponse(f"{number}:{Article.objects.count()}")


urlpatterns = [
    path("titles/", titles),
    path("titles-template/", titles_template),
    path("count/<int:number>/", count),
]
