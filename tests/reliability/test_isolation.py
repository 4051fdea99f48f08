"""Isolation: no visitor ever gets a page built for another (property-based, with hypothesis).

Random sequences of requests from random visitors (anonymous without a session, anonymous with a
cart in their session, an unknown session cookie, three users, two bearers of an
``Authorization`` header, a user with one), in random languages, on random hosts, schemes, paths
and query strings (repeated parameters), interleaved with writes of every kind and with
refreshes run by hand at random points. Every response must be what the uncached view gives
that same request now, or an earlier version of exactly that page for exactly that visitor class.

The targeted tests below each show one way a page did leak, found while writing these tests and
since fixed in the core: they stay as regression tests (see docs/reliability.md).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

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
from .visitors import (
    WRITES,
    Oracle,
    ask_again,
    asks,
    make_visitors,
    reset_data,
    send,
    write,
)

# Requests per run in each mode: the CI profile tries at least 10,000 requests in all (in the
# primary cell of the matrix; see support.scale()).
EXAMPLES = budget(ci=58, long=600)
STEPS = 110
MIN_REQUESTS = budget(ci=5_000, long=50_000)  # per mode


def run_isolation(manual_refreshes, replay) -> Oracle:
    visitors = make_visitors()
    oracle = Oracle()
    timer = Timer()

    @settings(settings.get_profile("jimmypage-reliability"), max_examples=EXAMPLES)
    @given(data=st.data())
    def sequence(data):
        reset_data(visitors)
        replay.start()
        manual_refreshes.queue.clear()
        stale_asks: dict = {}
        pages: list = []
        for _ in range(STEPS):
            replay.tick()
            roll = data.draw(st.integers(0, 99), label="action")
            if roll < 80:
                # Mostly pages already asked for, by any visitor: hits, stale pages and
                # refreshes, and every chance for one visitor's page to reach another.
                if not pages or data.draw(st.integers(0, 9), label="new page") == 0:
                    pages.append(data.draw(asks(), label="page"))
                ask = ask_again(data, pages)
                visitor = visitors[ask.visitor]
                raw = send(visitor, ask, method="GET", uncached=True)
                cached = send(visitor, ask)
                oracle.check(visitor, ask, cached, raw)
                if cached.get(STATUS) == "stale":
                    stale_asks[ask] = visitor
            elif roll < 90:
                write(data.draw(st.sampled_from(WRITES), label="write"), data, visitors)
            else:
                # Refreshes render the data as it is now: what the uncached view gives now
                # is in each refreshed page's history from here on.
                for ask, visitor in stale_asks.items():
                    oracle.record(visitor, send(visitor, ask, method="GET", uncached=True).content)
                everything = data.draw(st.booleans(), label="run every queued refresh")
                manual_refreshes.run(None if everything else 1)
                if not manual_refreshes.queue:
                    stale_asks.clear()

    # Hypothesis may run fewer examples than asked for (or shorter ones): go on until enough
    # requests were tried, a bounded number of times.
    for _ in range(3):
        sequence()
        if oracle.requests >= MIN_REQUESTS:
            break
    oracle.seconds = timer.seconds
    return oracle


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("local_tier")  # Redis cells: with the process-local tier
def test_no_visitor_ever_gets_another_visitors_page(mode, manual_refreshes, replay):
    skip_signed_in_outside_the_primary_cell(mode)
    with override_settings(**mode_settings(mode)), early_answers() as early:
        oracle = run_isolation(manual_refreshes, replay)
    figure(
        f"isolation[{mode}]",
        requests=oracle.requests,
        leaks=oracle.leaks,
        never_seen_versions=oracle.outdated,
        refreshes_run=manual_refreshes.ran,
        refresh_outcomes=dict(manual_refreshes.outcomes),
        statuses=dict(oracle.statuses),
        answered_before_the_stack=early[0],
        seconds=oracle.seconds,
    )
    assert oracle.leaks == 0
    # A failed refresh would keep its lock for a pause of real time (replay.py); none fails here.
    assert not manual_refreshes.outcomes["failed"]
    assert early[0] > 0 or mode != "signed-in", "no signed-in page was answered early"
    assert oracle.requests >= MIN_REQUESTS, "raise EXAMPLES or STEPS: too few requests tried"
    assert oracle.statuses["hit"] and oracle.statuses["stale"] and oracle.statuses["miss"]


# Leaks found while writing the property test above, now fixed in the core: regression tests.


@override_settings(**SETTINGS)
def test_an_authorization_header_cannot_forge_another_visitors_key():
    alice = User.objects.create(username="alice")
    victim = Client(HTTP_AUTHORIZATION="Bearer x")
    victim.force_login(alice)
    assert b"user=alice" in victim.get("/articles/").content
    forger = Client(HTTP_AUTHORIZATION=f"Bearer x|user:{alice.pk}")
    page = forger.get("/articles/")
    assert b"user=anonymous" in page.content, f"leaked ({page[STATUS]}): {page.content!r}"


@override_settings(**SETTINGS)
def test_a_page_whose_render_wrote_the_session_is_not_shared():
    first = Client(HTTP_X_VISITOR="A").get("/greets-session/")
    assert b"cart_id=cart-of-A" in first.content
    second = Client(HTTP_X_VISITOR="B").get("/greets-session/")
    assert b"cart_id=cart-of-B" in second.content, f"leaked ({second[STATUS]}): {second.content!r}"
