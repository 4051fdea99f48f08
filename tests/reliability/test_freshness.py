"""Freshness: a page served as fresh is never outdated, and a finished refresh makes it fresh
(property-based, with hypothesis).

Random interleavings of reads (several visitors, pages, hosts, languages, GET and HEAD), writes of
every kind, refreshes run by hand, evictions of any key at any time (the generation, the table
generations of per-table mode, refresh locks, page entries, any key at random) and writes or
evictions made in the middle of a refresh's render. After each read:

* a page served as ``hit`` (fresh) is exactly what the uncached view gives now: no write, no
  eviction ever makes an old page look fresh;
* a page whose refresh finished after the last write (and the last eviction) is served ``hit``;
* rollbacks and writes to whitelisted tables leave every page as fresh as it was.

The targeted tests below each show a way a page stayed outdated, found while writing these
tests and since fixed in the core: they stay as regression tests (see docs/reliability.md).
"""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory, override_settings
from django.urls import set_script_prefix

from tests.testapp.models import Article

from .freshness import run_freshness
from .support import (
    MODES,
    SETTINGS,
    STATUS,
    Timer,
    budget,
    early_answers,
    figure,
    mode_settings,
    skip_signed_in_outside_the_primary_cell,
)

EXAMPLES = budget(ci=40, long=400)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("local_tier")  # Redis cells: with the process-local tier
def test_no_outdated_page_is_ever_fresh_and_refreshes_finish_the_job(
    mode, manual_refreshes, replay
):
    skip_signed_in_outside_the_primary_cell(mode)
    timer = Timer()
    with override_settings(**mode_settings(mode)), early_answers() as early:
        tally = run_freshness(manual_refreshes, replay, EXAMPLES)
    figure(
        f"freshness[{mode}]",
        reads=tally.reads,
        hits_checked_fresh=tally.hits_checked,
        fresh_after_refresh_checked=tally.fresh_after_refresh,
        writes=tally.writes,
        evictions=tally.evictions,
        changes_during_a_render=tally.middle,
        refreshes_run=manual_refreshes.ran,
        refresh_outcomes=dict(manual_refreshes.outcomes),
        statuses=tally.statuses,
        outdated_served_fresh=0,
        answered_before_the_stack=early[0],
        seconds=timer.seconds,
    )
    # A failed refresh would keep its lock for a pause of real time (replay.py); none fails here.
    assert not manual_refreshes.outcomes["failed"]
    # Each example ends with at least one of each (freshness.Freshness.finish).
    assert tally.fresh_after_refresh >= EXAMPLES
    assert tally.evictions >= EXAMPLES and tally.middle >= EXAMPLES
    assert early[0] > 0 or mode != "signed-in", "no signed-in page was answered early"


def test_the_same_draws_give_the_same_run(manual_refreshes, replay):
    """Hypothesis replays examples and requires the same draws each time (issue 16): two runs
    with the same seed must take the same steps and find the same statuses and keys (in
    per-table mode, which has the most keys)."""
    traces = []
    with override_settings(**mode_settings("per-table")):
        for _ in range(2):
            traces.append(run_freshness(manual_refreshes, replay, 4, derandomize=True).trace)
    assert len(traces[0]) > 4 * 60
    assert traces[0] == traces[1]


# Outdated pages found while writing the property test above, now fixed: regression tests.


@override_settings(**SETTINGS)
def test_a_cart_page_shows_the_cart_once_it_changed():
    client = Client()
    client.get("/put/apple/")
    assert b"cart='apple'" in client.get("/articles/").content
    client.get("/put/pear/")
    page = client.get("/articles/")
    assert b"cart='pear'" in page.content, f"{page[STATUS]}: {page.content!r}"


@override_settings(**SETTINGS)
def test_a_page_that_reads_request_language_code_is_refreshed(manual_refreshes):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    assert b"LANGUAGE_CODE=fr" in client.get("/language-code/").content
    Article.objects.create(title="new")
    assert client.get("/language-code/")[STATUS] == "stale"
    manual_refreshes.run()
    page = client.get("/language-code/")
    assert page[STATUS] == "hit", f"still {page[STATUS]} after its refresh"


def _wsgi_get(path: str, script_name: str) -> tuple[str, bytes]:
    """A GET through Django's real WSGI handler (which sets the script prefix, unlike the test
    client), as a server under a sub-path would send it."""
    environ = RequestFactory()._base_environ(PATH_INFO=path, SCRIPT_NAME=script_name)
    statuses = []
    try:
        body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(headers)))
    finally:
        set_script_prefix("/")  # the handler leaves it set in this thread, for later tests too
    return dict(statuses[0]).get(STATUS, ""), body


@override_settings(**SETTINGS)
def test_a_refreshed_page_keeps_the_script_prefix_in_its_links(manual_refreshes):
    status, body = _wsgi_get("/links/", "/blog")
    assert (status, b"link=/blog/articles/" in body) == ("miss", True), body
    Article.objects.create(title="new")
    assert _wsgi_get("/links/", "/blog")[0] == "stale"
    manual_refreshes.run()
    status, body = _wsgi_get("/links/", "/blog")
    assert status == "hit"
    assert b"link=/blog/articles/" in body, body
