"""Run every figure in turn and write docs/benchmarks.md and its plots.

Usage: ``python -m harness [--quick] [--only PHASE,...] [--results DIR]`` from ``benchmarks/``
(``benchmarks/run`` does this after setting up). Phases: inprocess, roundtrips, sizes, profile,
http, modes, signedin. Raw results go to DIR (a new temporary folder by default) as JSON;
``--report-from DIR`` writes the page and plots again from DIR/results.json without measuring.
A run of only some phases writes its page into DIR, leaving docs/ as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from . import database, document, plots, signed_in, summary, versions
from .http_bench import HttpPlan, measure_modes
from .http_bench import measure as measure_http

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH_DIR)
DOCS = os.path.join(REPO, "docs")
PHASES = ("inprocess", "roundtrips", "sizes", "profile", "http", "modes", "signedin")


@dataclass(frozen=True)
class Plan:
    inprocess_rounds: int
    inprocess_fast: int  # warm requests per round for the floor and the page caches
    inprocess_slow: int  # for the two that render on every request
    roundtrip_fast: int
    roundtrip_slow: int
    profile_hits: int
    http_rounds: int
    http_seconds: int
    writes: int
    interval: float
    modes_rounds: int  # section 6: global and per-table mode, each on its own server


FULL = Plan(7, 2000, 25, 500, 10, 4000, 5, 5, 20, 0.2, 3)
QUICK = Plan(3, 500, 8, 200, 5, 1500, 1, 3, 20, 0.2, 1)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_module(module: str, *args) -> None:
    """Run ``python -m harness.MODULE args`` from benchmarks/, bounded in time."""
    subprocess.run(
        [sys.executable, "-m", f"harness.{module}", *map(str, args)],
        check=True,
        cwd=BENCH_DIR,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def load(path: str) -> dict:
    with open(path) as handle:
        return json.load(handle)


def prepare() -> None:
    log("creating the PostgreSQL database and the data set; flushing Redis db")
    database.recreate_database()
    run_module("seed")
    database.flush_redis()


def run_phases(plan: Plan, phases: list[str], out: str) -> dict:
    results: dict = {}
    if "inprocess" in phases:
        log(f"1. warm hits in-process: {plan.inprocess_rounds} rounds")
        path = os.path.join(out, "inprocess.json")
        run_module(
            "inprocess", path, plan.inprocess_rounds, plan.inprocess_fast, plan.inprocess_slow
        )
        results["inprocess"] = load(path)
    if "roundtrips" in phases:
        log("2. cache round trips and Redis commands per request")
        path = os.path.join(out, "roundtrips.json")
        run_module("roundtrips", path, plan.roundtrip_fast, plan.roundtrip_slow)
        results["roundtrips"] = load(path)
    if "sizes" in phases:
        log("5. stored bytes per entry")
        path = os.path.join(out, "sizes.json")
        run_module("sizes", path)
        results["sizes"] = load(path)
    if "profile" in phases:
        log("profiling the jimmypage hit path (pyinstrument)")
        path = os.path.join(out, "profile.json")
        run_module("profile_hit", path, os.path.join(out, "profile.txt"), plan.profile_hits)
        results["profile"] = load(path)
    if "http" in phases:
        log(f"3 and 4. HTTP, without and with writes: {plan.http_rounds} rounds")
        http_plan = HttpPlan(plan.http_rounds, plan.http_seconds, plan.writes, plan.interval)
        results["http"] = measure_http(http_plan, out, log)
    if "modes" in phases:
        log(f"6. jimmypage's global and per-table modes under writes: {plan.modes_rounds} rounds")
        modes_plan = HttpPlan(plan.modes_rounds, plan.http_seconds, plan.writes, plan.interval)
        results["modes"] = measure_modes(modes_plan, out, log)
    if "signedin" in phases:
        log(f"7. signed-in visitors: {plan.inprocess_rounds} rounds in-process, then HTTP")
        path = os.path.join(out, "signedin.json")
        run_module(
            "signed_in", path, plan.inprocess_rounds, plan.inprocess_fast, plan.roundtrip_fast
        )
        results["signedin"] = load(path)
        http_plan = HttpPlan(plan.http_rounds, plan.http_seconds, plan.writes, plan.interval)
        cookies = results["signedin"]["cookies"]
        results["signedin"]["http"] = signed_in.measure_http(http_plan, out, log, cookies)
    return results


def draw(results: dict, target: str) -> None:
    img = os.path.join(target, "img")
    os.makedirs(img, exist_ok=True)
    labels = summary.labels()
    if "inprocess" in results:
        rows = summary.inprocess(results["inprocess"])
        plots.hit_ratios(
            {
                key: (row["x_floor"].low, row["x_floor"].mid, row["x_floor"].high)
                for key, row in rows.items()
            },
            labels,
            os.path.join(img, "benchmarks-hit.png"),
        )
    if "http" in results:
        series = {}
        for key, runs in results["http"].items():
            last = runs["writes"][-1]["probe"]
            series[key] = {
                "samples": last["samples"],
                "write_times": [write["at"] for write in last["writes"]],
            }
        plots.latency_under_writes(series, labels, os.path.join(img, "benchmarks-writes.png"))


def write_report(results: dict, target: str) -> str:
    """Draw the plots and write TARGET/benchmarks.md; returns the page's text."""
    draw(results, target)
    text = document.render(results)
    with open(os.path.join(target, "benchmarks.md"), "w") as handle:
        handle.write(text)
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument(
        "--only", default=",".join(PHASES), help="comma-separated phases (default: all)"
    )
    parser.add_argument("--results", help="folder for the raw JSON results")
    parser.add_argument(
        "--report-from", metavar="DIR", help="only write the page again from DIR/results.json"
    )
    args = parser.parse_args(argv)
    if args.report_from:
        write_report(load(os.path.join(args.report_from, "results.json")), DOCS)
        log("wrote docs/benchmarks.md and docs/img/benchmarks-*.png")
        return
    phases = [phase for phase in args.only.split(",") if phase]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    plan = QUICK if args.quick else FULL
    out = args.results or tempfile.mkdtemp(prefix="jimmypage-bench-")
    os.makedirs(out, exist_ok=True)
    started = float(os.environ.get("BENCH_STARTED", time.time()))
    log(f"raw results in {out}")

    prepare()
    results = run_phases(plan, phases, out)
    database.flush_redis()
    results["meta"] = {
        "command": os.environ.get("BENCH_COMMAND", "benchmarks/run"),
        "plan": asdict(plan),
        "phases": phases,
        "versions": versions.collect(REPO),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "fresh_venv": os.environ.get("BENCH_FRESH_VENV") == "1",
    }
    # A partial run (--only) leaves docs/ alone and writes its page beside the raw results.
    target = DOCS if set(phases) == set(PHASES) else out
    results["meta"]["duration_s"] = time.time() - started
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    text = write_report(results, target)
    print()
    print(text)
    log(
        f"wrote {os.path.join(target, 'benchmarks.md')} and its plots in "
        f"{results['meta']['duration_s'] / 60:.1f} min; raw results in {out}"
    )
