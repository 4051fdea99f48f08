"""Figure 1: warm-hit time per request through the full middleware stack, in-process.

Rounds are interleaved (A B C ... A B C ...): in each round every contender answers its batch
of warm requests, and each contender's median and p99 are compared within the same round.
Run as ``python -m harness.inprocess OUT.json ROUNDS FAST_N SLOW_N``; writes per-round figures.
"""

from __future__ import annotations

import gc
import json
import sys
import time

from . import django_env, stats


def time_batch(client, path: str, count: int, cookie: str | None = None) -> list[float]:
    """Microseconds of each of ``count`` requests of ``path`` (sending ``cookie``, if any)."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        started = clock()
        answer = client.get(path, cookie)
        samples.append((clock() - started) / 1000)
        if not answer.status.startswith("200"):
            raise RuntimeError(f"{path} answered {answer.status}")
    return samples


def measure(rounds: int, fast_n: int, slow_n: int) -> dict:
    from benchsite.contenders import CONTENDERS

    from .wsgi_client import Client, warm

    client = Client()
    for contender in CONTENDERS:
        warm(client, contender.path)
        # Discarded warm-up batch: template loaders, connection pools, code paths.
        time_batch(
            client, contender.path, 5 if not contender.caches_page and contender.shows_page else 200
        )
    result = {c.key: {"median_us": [], "p99_us": [], "count": 0} for c in CONTENDERS}
    for _ in range(rounds):
        for contender in CONTENDERS:
            fast = contender.caches_page or not contender.shows_page
            count = fast_n if fast else slow_n
            warm(client, contender.path)
            gc.collect()
            samples = time_batch(client, contender.path, count)
            entry = result[contender.key]
            entry["median_us"].append(stats.percentile(samples, 0.5))
            entry["p99_us"].append(stats.percentile(samples, 0.99))
            entry["count"] = count
    return result


def main(argv: list[str]) -> None:
    out, rounds, fast_n, slow_n = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    django_env.setup()
    with open(out, "w") as handle:
        json.dump(
            {"rounds": rounds, "contenders": measure(rounds, fast_n, slow_n)}, handle, indent=1
        )


if __name__ == "__main__":
    main(sys.argv[1:])
