"""Fixtures of the reliability tests (issue 7: never leaks, never loses a write, keeps serving).

Budgets: the CI profile by default; ``JIMMYPAGE_LONG=1`` for the long profile (more examples,
a 60 s load run). ``JIMMYPAGE_RELIABILITY_REPORT=path`` appends the figures of each test as one
JSON line to ``path``; they are also printed at the end of the run.
"""

from __future__ import annotations

import json
import os

import pytest
from django.conf import settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

from jimmypage import refresh, signals, tier

from .replay import Replay
from .support import FIGURES, ManualExecutor

NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.explain]

hypothesis_settings.register_profile(
    "jimmypage-reliability",
    database=None,  # nothing written into the work tree
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
    # Shrinking a long sequence of requests can take hypothesis minutes: opt in to it with
    # JIMMYPAGE_SHRINK=1 when reproducing a failure (the failing blob is printed either way).
    phases=list(Phase) if os.environ.get("JIMMYPAGE_SHRINK") else NO_SHRINK,
)


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("jimmypage reliability figures")
    for test, values in FIGURES.items():
        shown = ", ".join(f"{name}={value}" for name, value in values.items())
        terminalreporter.write_line(f"{test}: {shown}")
    path = os.environ.get("JIMMYPAGE_RELIABILITY_REPORT")
    if path:
        with open(path, "a") as report:
            for test, values in FIGURES.items():
                line = {"test": test, "db": settings.TEST_DB, "cache": settings.TEST_CACHE}
                report.write(json.dumps({**line, **values}) + "\n")


@pytest.fixture
def manual_refreshes(monkeypatch):
    """Refreshes run by hand: ``manual_refreshes.run()``."""
    manual = ManualExecutor()
    monkeypatch.setattr(refresh, "executor", lambda: manual)
    yield manual
    manual.run()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the outcome of each test's call, for fixtures that check after it (``local_tier``)."""
    report = yield
    if report.when == "call":
        item.jimmypage_call = report
    return report


@pytest.fixture
def local_tier(monkeypatch, request):
    """In the Redis cells, the property tests run with the process-local tier (on by default
    there), and prove that it served hits: the oracles then check local hits too.

    A key the test deletes or a cache it flushes behind jimmypage's back reaches the tier
    through Redis's invalidation stream, a few milliseconds later; the test waits for the stream
    to catch up (``tier.settle``), as a visitor arriving after those milliseconds would.

    Whether a given hit is local depends on when invalidations arrive, so a failure found here
    may be reported by hypothesis as flaky (its replay differs): the failure stands all the same.
    """
    if settings.TEST_CACHE != "redis":
        yield
        return
    from django.core.cache.backends.redis import RedisCache

    for name in ("delete", "clear"):
        monkeypatch.setattr(RedisCache, name, _settled(getattr(RedisCache, name)))
    local_hits = []

    def count(sender, reason, **kwargs):
        if reason is tier.LOCAL:
            local_hits.append(reason)

    signals.page_hit.connect(count, weak=False, dispatch_uid="tests.local_tier")
    try:
        yield
    finally:
        signals.page_hit.disconnect(dispatch_uid="tests.local_tier")
    call = getattr(request.node, "jimmypage_call", None)
    if call is None or not call.passed:
        return  # skipped (the signed-in mode outside its cells) or failed: nothing to add
    FIGURES[request.node.name]["local_hits"] = len(local_hits)
    assert local_hits, "no hit came from the local tier: the property test did not exercise it"


def _settled(method):
    def settled(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        assert tier.settle(), "the tier's invalidation stream did not catch up within 10 s"
        return result

    return settled


@pytest.fixture
def replay(monkeypatch):
    """Deterministic tokens and clock for a property test's examples (``replay.py``)."""
    return Replay(monkeypatch)
