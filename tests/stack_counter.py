"""A middleware that counts the requests reaching it, to see what the stack did."""

from jimmypage.refresh import is_refresh

reached: list[str] = []  # the paths of live requests that reached the stack
refreshed: list[str] = []  # the paths of background refreshes that went through it


class CountingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        (refreshed if is_refresh(request) else reached).append(request.path)
        return self.get_response(request)


class RawCookieMiddleware:
    """Writes a ``Set-Cookie`` header by hand (not ``set_cookie()``) on ``?raw-cookie``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "raw-cookie" in request.GET:
            response.headers["Set-Cookie"] = "visitor=one"
        return response
