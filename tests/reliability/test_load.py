"""Load: gunicorn saturated by client threads while an article is written every 200 ms.

0 errors, 0 leaks, 0 failed writes; the threads and memory of each worker and the database's open
connections stay bounded (their maxima are reported). The CI profile loads for 12 s; the long
profile (``JIMMYPAGE_LONG=1``) for 60 s; either goes on until it made 40 requests and 3 writes per
planned second (a busy machine is slower). The same run without pytest:
``.venv/bin/python -m tests.reliability.load --seconds 60``.
"""

from __future__ import annotations

import pytest

from .load import run_load
from .support import LONG, figure, live_site

SECONDS = 60 if LONG else 12
MIN_REQUESTS, MIN_WRITES = SECONDS * 40, SECONDS * 3  # it goes on (up to 4x) until it made these
WORKERS, THREADS, REFRESH_THREADS = 2, 4, 2
# jimmypage's own long-lived threads in a worker: the tier's invalidation listener (the stats
# are written at once here, and the Varnish purger is off).
JIMMYPAGE_THREADS = 1
# asgiref's threads for the async page and the interpreter's own vary (Python 3.13 showed one
# more than 3.11 under the same load): a margin, far below what a leak per request would give.
SPARE_THREADS = 6


@pytest.fixture(scope="module")
def site():
    with live_site(workers=WORKERS, threads=THREADS, refresh_threads=REFRESH_THREADS) as live:
        yield live


def test_saturation_with_a_write_every_200_ms_stays_correct_and_bounded(site):
    from .site import Sampler

    with Sampler(site) as sampler:
        load = run_load(
            site.url,
            SECONDS,
            clients=6,
            write_every=0.2,
            min_requests=MIN_REQUESTS,
            min_writes=MIN_WRITES,
        )
    figures = load.summary()
    figure(
        f"load ({SECONDS:.0f} s)",
        **figures,
        seconds=round(load.seconds, 1),
        rps=round(load.requests / load.seconds),
        max_worker_threads=sampler.max_threads,
        max_worker_rss_mb=round(sampler.max_rss_mb, 1),
        rss_growth_second_half_mb=sampler.rss_growth_mb(),
        max_db_connections=sampler.max_db_connections,
        samples=sampler.samples,
    )
    # A busy machine serves fewer requests per second: the load goes on until it made enough.
    assert load.requests >= MIN_REQUESTS and load.writes >= MIN_WRITES, figures
    assert (load.errors, load.server_errors, load.leaks) == (0, 0, 0), (figures, site.tail())
    assert load.failed_writes == 0, figures
    # Per worker: gunicorn's main thread and its request threads, jimmypage's refresh threads
    # and its own, and the spare. (A thread leaked per request would pass this by hundreds.)
    assert sampler.max_threads <= THREADS + REFRESH_THREADS + JIMMYPAGE_THREADS + SPARE_THREADS, (
        figures
    )
    # Every request thread and refresh thread of every worker holds at most one connection.
    assert sampler.max_db_connections <= WORKERS * (THREADS + REFRESH_THREADS), figures
    assert sampler.rss_growth_mb() < 20, "workers kept growing in the second half of the run"
