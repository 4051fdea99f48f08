"""jimmypage's AnonymousHitMiddleware, for the "jimmypage_early" contenders' URLs only.

Every other contender must run through the plain stack, so the middleware is skipped for them.
For the contenders measured without the process-local tier, the whole request runs without it.
"""

from jimmypage.middleware import AnonymousHitMiddleware

from .contenders import EARLY_PATHS, TIER_OFF_PATHS
from .tierless import local_tier_off


class EarlyForOneContender(AnonymousHitMiddleware):
    def __call__(self, request):
        if request.path not in EARLY_PATHS:
            return self.get_response(request)
        if request.path in TIER_OFF_PATHS:
            with local_tier_off():
                return super().__call__(request)
        return super().__call__(request)
