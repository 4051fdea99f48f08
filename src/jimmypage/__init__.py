"""django-jimmypage: generational, stale-while-revalidate caching of Django views."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "invalidate"]


def invalidate(*targets) -> None:
    """Make cached pages stale: every page, whatever ``targets`` (models or table names) name.

    Pages depend on every table (the global mode), so naming models or tables still makes
    every page stale; the argument form is accepted for code that states what it changed.
    Stale pages are still served while one refresh renders each again.
    """
    from .generations import bump

    bump()
