"""A middleware that counts the requests reaching it, to see what the stack did."""

reached: list[str] = []


class CountingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reached.append(request.path)
        return self.get_response(request)
