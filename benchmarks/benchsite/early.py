"""jimmypage's AnonymousHitMiddleware, for the "jimmypage_early" contender's URL only.

Every other contender must run through the plain stack, so the middleware is skipped for them.
"""

from jimmypage.middleware import AnonymousHitMiddleware

from .contenders import JIMMYPAGE_EARLY


class EarlyForOneContender(AnonymousHitMiddleware):
    def __call__(self, request):
        if request.path != JIMMYPAGE_EARLY.path:
            return self.get_response(request)
        return super().__call__(request)
