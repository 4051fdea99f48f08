"""Views of the reliability tests (``tests/reliability``), with their own urlconf.

Each page echoes everything that may legitimately make it differ between two requests (the
visitor, the language, the host, the path, the query, the Vary'd headers) and the data it reads,
so a test can tell a page served to the wrong visitor from an old page of the right visitor.
Each body is ``<identity> || <data>``; the header ``X-Body-Digest`` carries a digest of the body,
so that a ``HEAD`` (which has no body) can be checked too.

Use them with ``override_settings(ROOT_URLCONF="tests.testapp.reliability_views")``.
"""

from __future__ import annotations

import hashlib
import threading
import time

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, re_path, reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from jimmypage.cache import cache_page

from .models import Article, Author, Tag

# Tests put callables here to act in the middle of a render: HOOKS[name](request).
HOOKS: dict = {}
_hooks_lock = threading.Lock()


def _hook(name: str, request) -> None:
    with _hooks_lock:
        hook = HOOKS.get(name)
    if hook is not None:
        hook(request)


def identity(request, name: str) -> str:
    """Everything a page may differ by between visitors and requests."""
    user = request.user.username if request.user.is_authenticated else "anonymous"
    return (
        f"view={name}|user={user}|auth={request.META.get('HTTP_AUTHORIZATION')!r}"
        f"|cart={request.session.get('cart')!r}|lang={translation.get_language()}"
        f"|tz={timezone.get_current_timezone_name()}|scheme={request.scheme}"
        f"|host={request.get_host()}|path={request.path}|query={sorted(request.GET.lists())!r}"
    )


def body_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=8).hexdigest()


def _page(request, name: str, data: str, **headers) -> HttpResponse:
    _hook(name, request)
    # What the user may do is data of the page: a write to the user must make it stale.
    staff = getattr(getattr(request, "user", None), "is_staff", False)
    body = f"{identity(request, name)}||{data}|staff={staff}".encode()
    response = HttpResponse(body)
    response["X-Body-Digest"] = body_digest(body)
    for header, value in headers.items():
        response[header] = value
    return response


def articles_text() -> str:
    rows = Article.objects.select_related("author").order_by("pk")
    return ",".join(f"{a.pk}:{a.title}:{a.author.name if a.author else '-'}" for a in rows)


def tags_text() -> str:
    return ",".join(f"{t.pk}:{t.name}" for t in Tag.objects.order_by("pk"))


@cache_page
def articles(request, slug: str = ""):
    """Reads articles and their authors."""
    return _page(request, "articles", f"slug={slug}|{articles_text()}")


@cache_page
def tags(request):
    """Reads tags only: in per-table mode, article writes leave it fresh."""
    return _page(request, "tags", tags_text())


@cache_page
def tagged(request):
    """Reads articles, tags and the many-to-many table between them."""
    rows = Article.objects.prefetch_related("tags").order_by("pk")
    data = ";".join(f"{a.pk}=" + ",".join(t.name for t in a.tags.order_by("pk")) for a in rows)
    return _page(request, "tagged", data)


@cache_page
def static(request):
    """Reads no table at all."""
    return _page(request, "static", "static")


@cache_page
def vary(request):
    """Varies on ``Accept`` and ``X-Flavour``, and echoes both."""
    data = (
        f"accept={request.META.get('HTTP_ACCEPT')!r}|flavour={request.META.get('HTTP_X_FLAVOUR')!r}"
    )
    return _page(request, "vary", f"{data}|{articles_text()}", Vary="Accept, X-Flavour")


@cache_page
async def async_articles(request):
    await request.auser()
    rows = [f"{a.pk}:{a.title}" async for a in Article.objects.order_by("pk")]
    return await sync_to_async(_page)(request, "async_articles", ",".join(rows))


_TEMPLATE = engines["django"].from_string(
    "{{ identity }}||{% for a in articles %}{{ a.pk }}:{{ a.title }},{% endfor %}"
)


def _digest_header(response) -> None:
    response["X-Body-Digest"] = body_digest(response.content)


@cache_page
def template(request):
    """A TemplateResponse, rendered after the view returns."""
    _hook("template", request)
    context = {
        "identity": identity(request, "template"),
        "articles": Article.objects.order_by("pk"),
    }
    response = TemplateResponse(request, _TEMPLATE, context)
    response.add_post_render_callback(_digest_header)
    return response


@cache_page
def links(request):
    """Echoes a reversed URL: it must carry the script prefix the page was asked under."""
    return _page(request, "links", f"link={reverse('reliability-articles')}|{articles_text()}")


@cache_page
def language_code(request):
    """Echoes ``request.LANGUAGE_CODE``, which ``LocaleMiddleware`` sets on every request."""
    return _page(request, "language_code", f"LANGUAGE_CODE={request.LANGUAGE_CODE}")


@cache_page
def greets_session(request):
    """Writes the visitor's session during the render, and shows what it wrote (a cart id)."""
    if not request.session.get("cart_id"):
        request.session["cart_id"] = f"cart-of-{request.META.get('HTTP_X_VISITOR', '?')}"
    return _page(request, "greets_session", f"cart_id={request.session['cart_id']}")


@cache_page
def anything(request, rest: str):
    """Any path under ``/any/``; varies on ``Accept``, ``Accept-Language`` and ``X-Flavour``."""
    meta = request.META
    headers = [meta.get(name) for name in ("HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE", "HTTP_X_FLAVOUR")]
    return _page(
        request,
        "anything",
        f"rest={rest!r}|headers={headers!r}",
        Vary="Accept, Accept-Language, X-Flavour",
    )


@cache_page
def slow(request):
    """Sleeps ``?s=`` seconds before answering (for load and fault tests)."""
    time.sleep(min(float(request.GET.get("s", "0") or 0), 5.0))
    return _page(request, "slow", articles_text())


@cache_page
def raising(request):
    """Raises when ``HOOKS['raising']`` says so; reads articles otherwise."""
    return _page(request, "raising", articles_text())


# Not cached: the tools the tests act with.


def put_in_cart(request, item: str):
    request.session["cart"] = item
    return HttpResponse("ok")


@csrf_exempt
def write(request):
    """Saves an article (a POST from the load and fault tests); answers its id."""
    author = Author.objects.order_by("pk").first()
    article = Article.objects.create(title=request.GET.get("title", "w"), author=author)
    return JsonResponse({"id": article.pk})


def login_as(request, username: str):
    from django.contrib.auth import login
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


def health(request):
    return HttpResponse("ok")


urlpatterns = [
    path("articles/", articles, name="reliability-articles"),
    path("articles/<slug:slug>/", articles),
    path("tags/", tags),
    path("tagged/", tagged),
    path("static/", static),
    path("vary/", vary),
    path("async/", async_articles),
    path("template/", template),
    path("links/", links),
    path("language-code/", language_code),
    path("greets-session/", greets_session),
    path("slow/", slow),
    path("raising/", raising),
    path("put/<str:item>/", put_in_cart),
    path("write/", write),
    path("login/<str:username>/", login_as),
    path("health/", health),
    re_path(r"^any/(?P<rest>[\s\S]*)\Z", anything),
]
