"""Figures 3 and 4: gunicorn under wrk, without writes and then with writes, interleaved.

In each round, for each contender in turn (A B C ... A B C ...): warm the page, run wrk without
writes; warm it again, run wrk while the probe saves an article every 200 ms and watches the
page. Renders are counted by the views (a Redis INCR per render, only in this phase).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

from benchsite.contenders import CONTENDERS, JIMMYPAGE, RENDER_COUNTER_PREFIX

from . import server, wrk
from .database import redis_client

LEAD = 1.5  # seconds for the probe to start up and wrk to reach a steady load before writes
GRACE = 1.5  # seconds after the last write for it to show


@dataclass(frozen=True)
class HttpPlan:
    rounds: int
    seconds: float  # wrk's duration without writes
    writes: int  # writes per write phase
    interval: float  # seconds between writes


def write_phase(
    port: int,
    contender,
    plan: HttpPlan,
    out_dir: str,
    tag: str,
    target: str = "article",
    mode: str = "global",
) -> dict:
    """wrk plus the probe; returns wrk's figures, the probe's, and renders per write.

    ``target``: what the probe writes, ``article`` (shown by the page) or ``visit`` (a table
    the page never reads). ``mode``: the server's ``JIMMY_PAGE_MODE``, which the writing probe
    must run too (a global-mode writer changes the global generation, whatever it wrote).
    """
    redis = redis_client()
    counter = RENDER_COUNTER_PREFIX + contender.key
    redis.delete(counter)
    start_at = time.monotonic() + LEAD
    seconds = LEAD + plan.writes * plan.interval + GRACE
    probe_out = os.path.join(out_dir, f"probe-{tag}.json")
    probe = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.probe",
            probe_out,
            str(port),
            contender.path,
            str(plan.writes),
            str(plan.interval),
            str(GRACE),
            repr(start_at),
            "1" if contender.shows_page else "0",
            target,
        ],
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, BENCH_JIMMY_MODE=mode),
    )
    load = wrk.start(f"http://{server.HOST}:{port}{contender.path}", seconds)
    try:
        result = wrk.finish(load, seconds)
        probe.wait(timeout=seconds + 60)
    finally:
        for process in (load, probe):
            if process.poll() is None:
                process.kill()
    time.sleep(0.5)  # let the refresh of the last write finish before counting
    renders = int(redis.get(counter) or 0)
    with open(probe_out) as handle:
        probed = json.load(handle)
    return {
        "wrk": result.as_dict(),
        "probe": probed,
        "renders": renders,
        "renders_per_write": renders / plan.writes,
    }


def run_pair(
    port: int,
    contender,
    plan: HttpPlan,
    out_dir: str,
    tag: str,
    runs: dict,
    target: str = "article",
    mode: str = "global",
) -> str:
    """wrk without writes, then with them (``write_phase``), appended to ``runs``; a log line."""
    url = f"http://{server.HOST}:{port}{contender.path}"
    server.warm(port, contender.path)
    plain = wrk.run(url, plan.seconds)
    runs["plain"].append(plain.as_dict())
    server.warm(port, contender.path)
    written = write_phase(port, contender, plan, out_dir, tag, target, mode)
    runs["writes"].append(written)
    return (
        f"{plain.requests_per_s:8.0f} req/s, p99 {plain.p99_ms:7.1f} ms | "
        f"with writes {written['wrk']['requests_per_s']:8.0f} req/s, "
        f"p99 {written['wrk']['p99_ms']:7.1f} ms, "
        f"renders/write {written['renders_per_write']:.2f}"
    )


def measure(plan: HttpPlan, out_dir: str, log) -> dict:
    results = {c.key: {"plain": [], "writes": []} for c in CONTENDERS}
    with server.gunicorn(os.path.join(out_dir, "gunicorn.log")) as port:
        for contender in CONTENDERS:
            server.warm(port, contender.path)
        for number in range(plan.rounds):
            for contender in CONTENDERS:
                tag = f"{contender.key}-{number}"
                line = run_pair(port, contender, plan, out_dir, tag, results[contender.key])
                log(f"  round {number + 1}/{plan.rounds} {contender.key:10} {line}")
    return results


# Section 6: jimmypage's two modes, each on a server of its own (JIMMY_PAGE_MODE is per process),
# under writes to a table the page never reads ("visit") and, in per-table mode, to its articles.
MODE_TARGETS = {"global": ("visit",), "per-table": ("visit", "article")}


def measure_modes(plan: HttpPlan, out_dir: str, log) -> dict:
    """Per mode and write target: the runs without and with writes, as in ``measure``."""
    results = {
        f"{mode}:{target}": {"plain": [], "writes": []}
        for mode, targets in MODE_TARGETS.items()
        for target in targets
    }
    for mode, targets in MODE_TARGETS.items():
        log_path = os.path.join(out_dir, f"gunicorn-{mode}.log")
        with server.gunicorn(log_path, BENCH_JIMMY_MODE=mode) as port:
            for number in range(plan.rounds):
                for target in targets:
                    tag = f"mode-{mode}-{target}-{number}"
                    runs = results[f"{mode}:{target}"]
                    line = run_pair(port, JIMMYPAGE, plan, out_dir, tag, runs, target, mode)
                    log(f"  round {number + 1}/{plan.rounds} {mode:9} writes to {target:7} {line}")
    return results
