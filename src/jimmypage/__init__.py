"""django-jimmypage: generational, stale-while-revalidate caching of Django views."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "invalidate"]


def invalidate(*targets) -> None:
    """Make cached pages stale: every page, or those that depend on ``targets``.

    ``targets`` are models or table names. In global mode (the default) every page depends on
    every table, so naming some still makes every page stale. Stale pages are still served
    while one refresh renders each again.
    """
    from .generations import bump, bump_tables

    if not targets:
        bump()
        return
    bump_tables(target if isinstance(target, str) else target._meta.db_table for target in targets)
