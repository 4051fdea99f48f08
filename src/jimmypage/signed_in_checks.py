"""System checks of ``SignedInHitMiddleware`` (``jimmypage.signed_in``).

* W011: it comes after ``SessionMiddleware`` or ``AuthenticationMiddleware``.
* W012: the session engine is one it does not support: every request goes through.
* W013: ``SESSION_SAVE_EVERY_REQUEST``: every request must reach the session, so it never
  answers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

from . import sessions
from .signed_in import MIDDLEWARE_PATH

_MUST_FOLLOW = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


@register(Tags.compatibility)
def check_signed_in(app_configs=None, **kwargs) -> list[Warning]:
    """Where ``SignedInHitMiddleware`` is installed but could never answer, or not soon enough
    (see the module's list)."""
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        return []
    warnings = []
    position = middleware.index(MIDDLEWARE_PATH)
    before = [path for path in middleware[:position] if path in _MUST_FOLLOW]
    if before:
        warnings.append(
            Warning(
                f"{MIDDLEWARE_PATH} comes after {', '.join(before)}.",
                hint="Put it first in MIDDLEWARE: a hit must skip sessions and auth.",
                id="jimmypage.W011",
            )
        )
    if sessions.kind() is None:
        warnings.append(
            Warning(
                f"{MIDDLEWARE_PATH} does not support SESSION_ENGINE={settings.SESSION_ENGINE!r} "
                "(with this cache): every request goes through the stack.",
                hint="Use the db, cached_db or signed_cookies engine, or the cache engine with "
                "SESSION_CACHE_ALIAS equal to JIMMY_PAGE_CACHE_ALIAS.",
                id="jimmypage.W012",
            )
        )
    if settings.SESSION_SAVE_EVERY_REQUEST:
        warnings.append(
            Warning(
                f"{MIDDLEWARE_PATH} never answers with SESSION_SAVE_EVERY_REQUEST = True.",
                hint="Every request must then reach SessionMiddleware, which saves the session.",
                id="jimmypage.W013",
            )
        )
    return warnings
