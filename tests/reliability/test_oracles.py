"""The oracles of the property tests have teeth: each catches the bug it exists for.

Each test breaks jimmypage on purpose (in this test only, with ``monkeypatch``) and checks that
the property test notices.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from jimmypage import backend, generations, keys

from .freshness import run_freshness
from .support import SETTINGS
from .test_freshness import EXAMPLES
from .test_isolation import run_isolation


def test_isolation_catches_pages_shared_between_visitors(manual_refreshes, replay, monkeypatch):
    monkeypatch.setattr(keys, "visitor", lambda request: "")  # everybody shares one page
    with override_settings(**SETTINGS), pytest.raises(AssertionError, match="LEAK"):
        run_isolation(manual_refreshes, replay)


def test_freshness_catches_counters_instead_of_random_tokens(manual_refreshes, replay, monkeypatch):
    """With counters, an evicted generation starts again at 1 and old pages look fresh."""

    def bump():
        token = str(int(backend.get(generations.generation_key()) or 0) + 1)
        backend.put(generations.generation_key(), token, None)
        return token

    monkeypatch.setattr(generations, "new_token", lambda: "1")
    monkeypatch.setattr(generations, "bump", bump)
    # Without the process-local tier: whether a hit is local depends on when Redis's
    # invalidations arrive, so hypothesis could not replay the failing example the same way.
    with (
        override_settings(**SETTINGS, JIMMY_PAGE_LOCAL_CACHE_BYTES=0),
        pytest.raises(AssertionError, match="outdated page was served as fresh"),
    ):
        run_freshness(manual_refreshes, replay, EXAMPLES)
