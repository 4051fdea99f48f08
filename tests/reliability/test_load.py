"""Load: gunicorn saturated by client threads while an article is written every 200 ms.

0 errors, 0 leaks, 0 failed writes; the threads and memory of each worker and the database's open
connections stay bounded (their maxima are reported). The CI profile loads for 12 s; the long
profile (``JIMMYPAGE_LONG=1``) for 60 s. The same run without pytest:
``.venv/bin/python -m tests.reliability.load --seconds 60``.
"""

from __future__ import annotations

import pytest

from .load import run_load
from .support import LONG, figure, live_site

SECONDS = 60 if LONG else 12
WORKERS, THREADS, REFRESH_THREADS = 2, 4, 2


@pytest.fixture(scope="module")
def site():
    with live_site(workers=WORKERS, threads=THREADS, refresh_threads=REFRESH_THREADS) as live:
        yield live


def test_saturation_with_a_write_every_200_ms_stays_correct_and_bounded(site):
    from .site import Sampler

    with Sampler(site) as sampler:
        load = run_load(site.url, SECONDS, clients=6, write_every=0.2)
    figures = load.summary()
    figure(
        f"load ({SECONDS:.0f} s)",
        **figures,
        rps=round(load.requests / SECONDS),
        max_worker_threads=sampler.max_threads,
        max_worker_rss_mb=round(sampler.max_rss_mb, 1),
        rss_growth_second_half_mb=sampler.rss_growth_mb(),
        max_db_connections=sampler.max_db_connections,
        samples=sampler.samples,
    )
    assert load.requests > 500, figures
    assert (load.errors, load.server_errors, load.leaks) == (0, 0, 0), (figures, site.tail())
    assert load.failed_writes == 0 and load.writes >= SECONDS * 3, figures
    # Per worker: gunicorn's main thread and its request threads, jimmypage's refresh threads,
    # asgiref's threads for the async page, and a few spare.
    assert sampler.max_threads <= THREADS + REFRESH_THREADS + 4, figures
    # Every request thread and refresh thread of every worker holds at most one connection.
    assert sampler.max_db_connections <= WORKERS * (THREADS + REFRESH_THREADS), figures
    assert sampler.rss_growth_mb() < 20, "workers kept growing in the second half of the run"
