"""A middleware that counts the requests reaching it, to see what the stack did."""

reached: list[str] = []


class CountingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reached.append(request.path)
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
