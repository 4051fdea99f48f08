"""Where a warm jimmypage hit spends its time: pyinstrument over a batch of in-process hits.

Aggregates the sampled call tree by function: self time (the function's own code) and inclusive
time (counted once per call stack, so recursion is not counted twice), each as a share of the
whole request. Run as ``python -m harness.profile_hit OUT.json TEXT_OUT HITS``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict

from . import django_env

PATH = "/jimmypage/"


def frame_name(frame) -> str:
    where = frame.file_path_short or "?"
    return f"{frame.function} ({where}:{frame.line_no})"


def aggregate(root) -> tuple[dict[str, float], dict[str, float]]:
    """Self and inclusive seconds per function over the tree under ``root``."""
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    stack = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        name = frame_name(frame)
        own[name] += frame.total_self_time
        if name not in above:
            inclusive[name] += frame.time
        below = above | {name}
        stack.extend((child, below) for child in frame.children if not child.is_synthetic)
    return own, inclusive


def measure(text_out: str, hits: int) -> dict:
    from pyinstrument import Profiler

    from .wsgi_client import Client, warm

    client = Client()
    warm(client, PATH)
    for _ in range(500):
        client.get(PATH)
    profiler = Profiler(interval=0.0001)
    started = time.perf_counter()
    profiler.start()
    for _ in range(hits):
        client.get(PATH)
    profiler.stop()
    elapsed = time.perf_counter() - started
    root = profiler.last_session.root_frame()
    own, inclusive = aggregate(root)
    request_total = inclusive.get(next(n for n in inclusive if n.startswith("get (harness")), 0)
    with open(text_out, "w") as handle:
        handle.write(profiler.output_text(unicode=False, color=False, show_all=False))

    def top(table: dict[str, float], count: int) -> list[dict]:
        rows = sorted(table.items(), key=lambda item: -item[1])[:count]
        return [
            {"frame": name, "share": seconds / request_total, "us_per_hit": seconds / hits * 1e6}
            for name, seconds in rows
        ]

    return {
        "hits": hits,
        "us_per_hit_profiled": elapsed / hits * 1e6,
        "self": top(own, 20),
        "inclusive": top(inclusive, 40),
        "text": text_out,
    }


def main(argv: list[str]) -> None:
    out, text_out, hits = argv[0], argv[1], int(argv[2])
    django_env.setup()
    with open(out, "w") as handle:
        json.dump(measure(text_out, hits), handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
