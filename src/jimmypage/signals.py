"""Signals for metrics and logging; a signal nobody listens to costs next to nothing.

Every signal is sent with ``sender=None``. Arguments:

* ``page_hit``, ``page_stale``, ``page_miss``, ``page_bypassed``: ``request``, ``age`` (seconds
  since the served page was rendered; 0.0 for a miss or a bypass), ``reason``.
* ``page_refreshed``: ``path``, ``key``, ``outcome`` (``"stored"`` or ``"removed"``),
  ``duration`` (seconds).
* ``refresh_failed``: ``path``, ``key``, ``exception``.
* ``generation_changed``: ``tables`` (a frozenset of table names; ``None`` for every page).
"""

from django.dispatch import Signal

page_hit = Signal()
page_stale = Signal()
page_miss = Signal()
page_bypassed = Signal()
page_refreshed = Signal()
refresh_failed = Signal()
generation_changed = Signal()
