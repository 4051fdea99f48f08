"""Freshness with the local tier on and off, measured in pairs on one server (issue 11's goal).

Section 4 measures each contender's writes at its own time in a round, and this machine's noise
comes in bursts of seconds: two contenders' freshness medians differ by more within a run than
the tier could make them differ. Here the two `cache_page` contenders (tier on, tier off)
alternate on one gunicorn under wrk, the order swapped every pair, so that each pair shares its
moment. Run after `benchmarks/run` has set up the database, from `benchmarks/`:

    ../.venv-bench/bin/python -m harness.paired_freshness PAIRS

Prints each pair's medians, then for each contender the median and mean over every write.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile

from benchsite.contenders import JIMMYPAGE, JIMMYPAGE_REMOTE

from . import server
from .http_bench import HttpPlan, write_phase

WRITES_PER_PHASE = 20
INTERVAL = 0.2  # seconds between writes, as in section 4


def freshness_ms(written: dict) -> list[float]:
    """The freshness of each write of a phase that showed in the page."""
    found = (write.get("freshness_ms") for write in written["probe"]["writes"])
    return [value for value in found if value is not None]


def measure(pairs: int) -> dict[str, list[float]]:
    out_dir = tempfile.mkdtemp(prefix="jimmypage-paired-")
    plan = HttpPlan(1, 3, WRITES_PER_PHASE, INTERVAL)
    every = {JIMMYPAGE.key: [], JIMMYPAGE_REMOTE.key: []}
    with server.gunicorn(os.path.join(out_dir, "gunicorn.log")) as port:
        for number in range(pairs):
            order = (JIMMYPAGE, JIMMYPAGE_REMOTE)
            if number % 2:
                order = order[::-1]
            medians = {}
            for contender in order:
                server.warm(port, contender.path)
                written = write_phase(port, contender, plan, out_dir, f"{contender.key}-{number}")
                values = freshness_ms(written)
                every[contender.key] += values
                medians[contender.key] = round(statistics.median(values)) if values else None
            print(f"pair {number + 1}/{pairs}: median ms {medians}", flush=True)
    return every


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    every = measure(int(argv[0]) if argv else 8)
    for key, values in every.items():
        print(
            f"{key}: {len(values)} writes, median {statistics.median(values):.1f} ms, "
            f"mean {statistics.mean(values):.1f} ms"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
