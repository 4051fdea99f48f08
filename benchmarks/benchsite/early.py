"""jimmypage's AnonymousHitMiddleware and SignedInHitMiddleware, each for its contenders' URLs.

Every other contender must run through the plain stack, so the middleware is skipped for them.
For the contenders measured without the process-local tier, the whole request runs without it.
"""

from cachalot.api import cachalot_disabled

from jimmypage.middleware import AnonymousHitMiddleware
from jimmypage.signed_in import SignedInHitMiddleware

from .contenders import EARLY_PATHS, SIGNED_EARLY, TIER_OFF_PATHS
from .tierless import local_tier_off


class EarlyForOneContender(AnonymousHitMiddleware):
    def __call__(self, request):
        if request.path not in EARLY_PATHS:
            return self.get_response(request)
        if request.path in TIER_OFF_PATHS:
            with local_tier_off():
                return super().__call__(request)
        return super().__call__(request)


class SignedInForOneContender(SignedInHitMiddleware):
    def __call__(self, request):
        if request.path != SIGNED_EARLY.path:
            return self.get_response(request)
        return super().__call__(request)


class NoQueryCacheWhenSignedIn:
    """The signed-in contenders load the session and the user as a site without cachalot would.

    cachalot, installed for its own contender, caches every ORM query of the project, those of
    ``SessionMiddleware`` and ``AuthenticationMiddleware`` included; every view already renders
    the page itself with cachalot off.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/signed/"):
            return self.get_response(request)
        with cachalot_disabled():
            return self.get_response(request)
