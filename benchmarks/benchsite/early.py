"""jimmypage's AnonymousHitMiddleware and SignedInHitMiddleware, each for one contender's URL.

Every other contender must run through the plain stack, so the middleware is skipped for them.
"""

from jimmypage.middleware import AnonymousHitMiddleware
from jimmypage.signed_in import SignedInHitMiddleware

from .contenders import JIMMYPAGE_EARLY, SIGNED_EARLY


class EarlyForOneContender(AnonymousHitMiddleware):
    def __call__(self, request):
        if request.path != JIMMYPAGE_EARLY.path:
            return self.get_response(request)
        return super().__call__(request)


class SignedInForOneContender(SignedInHitMiddleware):
    def __call__(self, request):
        if request.path != SIGNED_EARLY.path:
            return self.get_response(request)
        return super().__call__(request)
