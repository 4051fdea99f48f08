"""Views of the test site. Each render is counted in ``RENDERS`` under the view's name."""

import threading
from collections import Counter

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.generic import TemplateView

from jimmypage.cache import cache_page

from .models import Article, Book, ShelfView, ShelvedBook, Tag

RENDERS: Counter = Counter()
_renders_lock = threading.Lock()
# Tests put callables here to act in the middle of a render: HOOKS[view name](request).
HOOKS: dict = {}
# What ``changing`` answers: "ok", "404", "410", "redirect", "raise404", "error", "denied".
BEHAVIOUR = {"changing": "ok"}


def _rendered(name, request):
    with _renders_lock:
        RENDERS[name] += 1
    hook = HOOKS.get(name)
    if hook is not None:
        hook(request)


def describe(request, name):
    """A page that shows everything a page may legitimately depend on."""
    user = request.user.username if request.user.is_authenticated else "anonymous"
    titles = ",".join(Article.objects.order_by("pk").values_list("title", flat=True))
    query = sorted(request.GET.lists())
    return (
        f"{name}|user={user}|lang={translation.get_language()}|host={request.get_host()}"
        f"|path={request.path}|query={query}|cart={request.session.get('cart')}"
        f"|articles={titles}|tz={timezone.get_current_timezone_name()}"
        f"|full_path={request.get_full_path()}"
    )


@cache_page
def page(request):
    _rendered("page", request)
    return HttpResponse(describe(request, "page"))


shared_decorator = cache_page(timeout=120)


@shared_decorator
def first(request):
    _rendered("first", request)
    return HttpResponse(describe(request, "first"))


@shared_decorator
def second(request):
    _rendered("second", request)
    return HttpResponse(describe(request, "second"))


@cache_page(timeout=60)
def with_kwargs(request, slug):
    _rendered("with_kwargs", request)
    return HttpResponse(f"slug={slug}|{describe(request, 'with_kwargs')}")


@cache_page
def template_page(request):
    _rendered("template_page", request)
    return TemplateResponse(request, "testapp/page.html", {"articles": Article.objects.all()})


@cache_page
async def async_page(request):
    _rendered("async_page", request)
    user = await request.auser()
    name = user.username if user.is_authenticated else "anonymous"
    titles = [a.title async for a in Article.objects.order_by("pk")]
    return HttpResponse(f"async|user={name}|articles={','.join(titles)}")


@method_decorator(cache_page, name="dispatch")
class ClassPage(TemplateView):
    template_name = "testapp/page.html"

    def get_context_data(self, **kwargs):
        _rendered("class_page", self.request)
        context = super().get_context_data(**kwargs)
        context["articles"] = Article.objects.all()
        context["q"] = self.request.GET.get("q", "")
        return context


@cache_page
def long_page(request):
    """Long enough for ``GZipMiddleware`` to compress (200 bytes or more)."""
    _rendered("long_page", request)
    return HttpResponse((describe(request, "long_page") + "\n") * 4)


@cache_page
def vary_page(request):
    _rendered("vary_page", request)
    response = HttpResponse(f"accept={request.META.get('HTTP_ACCEPT')}")
    response["Vary"] = "Accept"
    return response


@cache_page
def authz_page(request):
    _rendered("authz_page", request)
    return HttpResponse(f"authorization={request.META.get('HTTP_AUTHORIZATION')}")


@cache_page
def csrf_page(request):
    _rendered("csrf_page", request)
    return HttpResponse(f"token={get_token(request)}")


@cache_page
def csrf_template_page(request):
    _rendered("csrf_template_page", request)
    return TemplateResponse(request, "testapp/form.html")


@cache_page
def cookie_page(request):
    _rendered("cookie_page", request)
    response = HttpResponse("cookie")
    response.set_cookie("flavour", "oat")
    return response


@cache_page
def headers_page(request):
    """Answers with the headers named in ``?h=Name:value`` (repeatable) and ``?status=``."""
    _rendered("headers_page", request)
    response = HttpResponse("headers", status=int(request.GET.get("status", 200)))
    for header in request.GET.getlist("h"):
        name, value = header.split(":", 1)
        response[name] = value
    return response


@cache_page
@xframe_options_exempt
def framable_page(request):
    """May be framed: a hit must keep telling XFrameOptionsMiddleware so."""
    _rendered("framable_page", request)
    return HttpResponse("framable")


def _with_csp_override(view):
    """Django 6.0+'s per-view policy, stricter than the site's (``none`` before 6.0)."""
    try:
        from django.views.decorators.csp import csp_override
    except ImportError:
        return view
    return csp_override({"default-src": ["'none'"]})(view)


@cache_page
@_with_csp_override
def strict_csp_page(request):
    _rendered("strict_csp_page", request)
    return HttpResponse("strict policy")


@cache_page
def csp_nonce_page(request):
    """Shows the CSP nonce (Django 6.0+): each response has its own, so this is never stored."""
    _rendered("csp_nonce_page", request)
    nonce = getattr(request, "_csp_nonce", None)
    return HttpResponse(f"<script nonce='{nonce}'></script>")


@cache_page
def tenant_page(request):
    """Needs ``request.tenant``, which only TenantMiddleware gives: raises without it."""
    _rendered("tenant_page", request)
    return HttpResponse(f"tenant={request.tenant}|{describe(request, 'tenant')}")


@cache_page
def reason_page(request):
    _rendered("reason_page", request)
    return HttpResponse("reasoned", reason="Fine Indeed")


@cache_page
async def async_not_a_response(request):
    _rendered("async_not_a_response", request)


@cache_page
def a_string_not_a_response(request):
    _rendered("a_string_not_a_response", request)
    return "not a response"


@cache_page
def not_a_response(request):
    """A bug in a site: the view forgets to return its response."""
    _rendered("not_a_response", request)


@cache_page
def streaming_page(request):
    _rendered("streaming_page", request)
    return StreamingHttpResponse(iter([b"a", b"b"]))


@cache_page
def messages_page(request):
    _rendered("messages_page", request)
    shown = [str(m) for m in messages.get_messages(request)]
    return HttpResponse(f"messages={shown}")


def add_message(request):
    messages.info(request, "hello")
    return HttpResponse("added")


@cache_page
def adds_message(request):
    _rendered("adds_message", request)
    messages.info(request, "added during render")
    return HttpResponse("render added a message")


@cache_page
def cart(request):
    _rendered("cart", request)
    return HttpResponse(f"cart={request.session.get('cart')}")


def put_in_cart(request, item):
    request.session["cart"] = item
    return HttpResponse("ok")


@cache_page
def changing(request):
    """Answers as ``BEHAVIOUR["changing"]`` says, so tests can change it between renders."""
    _rendered("changing", request)
    behaviour = BEHAVIOUR["changing"]
    if behaviour == "404":
        return HttpResponse("gone", status=404)
    if behaviour == "410":
        return HttpResponse("gone", status=410)
    if behaviour == "redirect":
        return HttpResponseRedirect("/elsewhere/")
    if behaviour == "raise404":
        raise Http404("no more")
    if behaviour == "denied":
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    if behaviour == "error":
        raise RuntimeError("render failed")
    return HttpResponse(describe(request, f"changing-{behaviour}"))


@cache_page
def tags_page(request):
    _rendered("tags_page", request)
    return HttpResponse(",".join(Tag.objects.order_by("pk").values_list("name", flat=True)))


@cache_page
def books_page(request):
    """Reads the books only, never their shelves."""
    _rendered("books_page", request)
    return HttpResponse(",".join(Book.objects.order_by("pk").values_list("title", flat=True)))


@cache_page
def shelved_page(request):
    """Reads a view on a view (the books with their shelves' names)."""
    _rendered("shelved_page", request)
    rows = ShelvedBook.objects.order_by("pk").values_list("title", "shelf")
    return HttpResponse(",".join(f"{title}@{shelf}" for title, shelf in rows))


@cache_page
def shelves_page(request):
    """Reads the view over the shelves."""
    _rendered("shelves_page", request)
    return HttpResponse(",".join(ShelfView.objects.order_by("pk").values_list("name", flat=True)))


@cache_page
def static_page(request):
    _rendered("static_page", request)
    return HttpResponse("reads no table")


@cache_page(depends_on=[Tag, "testapp_hit"])
def declared_page(request):
    _rendered("declared_page", request)
    return HttpResponse("declares its dependencies")


@cache_page
def account_page(request):
    """A signed-in user's own page: what the user may do, which a write to the user changes."""
    _rendered("account_page", request)
    user = request.user
    if not user.is_authenticated:
        return HttpResponse("account|anonymous")
    groups = ",".join(sorted(user.groups.values_list("name", flat=True)))
    return HttpResponse(
        f"account|user={user.get_username()}|staff={user.is_staff}|active={user.is_active}"
        f"|groups={groups}|may_change={user.has_perm('testapp.change_article')}"
        f"|cart={request.session.get('cart')}"
    )


def log_out(request):
    from django.contrib.auth import logout

    logout(request)
    return HttpResponse("logged out")


def flush_session(request):
    request.session.flush()
    return HttpResponse("flushed")


def cycle_session(request):
    request.session.cycle_key()
    return HttpResponse("cycled")


def log_in_as(request, username):
    from django.contrib.auth import get_user_model, login

    user = get_user_model().objects.get(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse(f"logged in as {username}")
