"""Middleware of the test site that put things on the request, as many real sites' do."""

from django.http import HttpResponse, HttpResponseRedirect

from jimmypage.refresh import is_refresh

# What the gatekeeper answers a refresh with, instead of letting it reach the view:
# None (let it through), "503" or "redirect". Tests set it.
GATE = {"refresh": None}


class TenantMiddleware:
    """Like ``CurrentSiteMiddleware`` or a multi-tenant app: ``request.tenant`` from a header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = request.headers.get("X-Tenant", "public")
        return self.get_response(request)


class GatekeeperMiddleware:
    """Answers refreshes itself when ``GATE["refresh"]`` says so (maintenance, a login wall)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_refresh(request) and GATE["refresh"] == "503":
            return HttpResponse("down for maintenance", status=503)
        if is_refresh(request) and GATE["refresh"] == "redirect":
            return HttpResponseRedirect("/login/")
        return self.get_response(request)
