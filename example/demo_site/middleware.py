"""Middleware that shows jimmypage's cache status in the page footer."""

PLACEHOLDER = b"<!--jimmypage-status-->"


def describe(response):
    """Return a one-line description of how jimmypage served ``response``."""
    status = getattr(response, "jimmypage_status", None)
    if status is None:
        return "not a cached view"
    if status in ("hit", "stale"):
        age = getattr(response, "jimmypage_age", 0.0)
        return f"served from cache: {status} (rendered {age:.1f} s ago)"
    return f"rendered for this request (cache {status})"


class CacheStatusFooterMiddleware:
    """Replace the ``<!--jimmypage-status-->`` placeholder in HTML responses.

    The cached HTML never changes, so the status and age of the cache entry are filled in
    here, after the cached view has returned.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
            return response
        if PLACEHOLDER not in response.content:
            return response
        text = describe(response).encode(response.charset)
        response.content = response.content.replace(PLACEHOLDER, text)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
