"""Views for tests that run several processes (web servers, task workers).

Renders are counted where every process sees them: one row of ``testapp_hit`` per render (a
table the settings of these tests whitelist). While the file named by ``JIMMYPAGE_TEST_HOLD``
exists, a refresh render of ``counted`` waits (at most a minute), so that a test can act while a
refresh is known to be running, or kill the process that runs it.
"""

import os
import time

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from jimmypage import refresh
from jimmypage.cache import cache_page
from tests.testapp.models import Article, Hit
from tests.testapp.views import describe

HOLD = "JIMMYPAGE_TEST_HOLD"
COUNTED = "/counted/"


def renders(path: str = COUNTED) -> int:
    """How many times ``path`` was rendered, in every process."""
    return Hit.objects.filter(path=path).count()


@cache_page
def counted(request):
    Hit.objects.create(path=request.path)
    if refresh.ticket_of(request) is not None:
        _hold()
    return HttpResponse(describe(request, "counted"))


def _hold() -> None:
    gate = os.environ.get(HOLD)
    deadline = time.monotonic() + 60
    while gate and os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.02)


def ping(request):
    return HttpResponse(str(os.getpid()))


@csrf_exempt
def write(request):
    """Save an article (a write made in this server process); its title is the query string."""
    Article.objects.create(title=request.META.get("QUERY_STRING", "") or "written")
    return HttpResponse("written")


def tier_listener(request, action):
    """Hold (``pause``) or free (``resume``) this process's invalidation listener."""
    from jimmypage import tracking

    {"pause": tracking.pause, "resume": tracking.resume}[action]()
    return HttpResponse(action)


def process_id_header(get_response):
    """Say which process answered, and the stamp of the page it served (if any)."""

    def middleware(request):
        response = get_response(request)
        response["X-Process-Id"] = str(os.getpid())
        response["X-Stamp"] = repr(getattr(response, "jimmypage_stamp", None))
        return response

    return middleware
