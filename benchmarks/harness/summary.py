"""From raw per-round results to the figures the report shows: spreads, ratios, goals.

Every ratio is taken round by round (the contender's figure over the baseline's figure of the
same round), then summarised as min / median / max over the rounds.
"""

from __future__ import annotations

import statistics

from benchsite.contenders import (
    BASELINE,
    CACHEOPS,
    CONTENDERS,
    FLOOR,
    JIMMYPAGE,
    JIMMYPAGE_EARLY,
    JIMMYPAGES,
    UNCACHED,
)

from .stats import Spread, percentile, ratios


def inprocess(raw: dict) -> dict:
    rows = raw["contenders"]
    base, floor = rows[BASELINE.key]["median_us"], rows[FLOOR.key]["median_us"]
    cacheops = rows[CACHEOPS.key]["median_us"]
    return {
        key: {
            "count": row["count"],
            "median": Spread.of(row["median_us"]),
            "p99": Spread.of(row["p99_us"]),
            "x_baseline": Spread.of(ratios(row["median_us"], base)),
            "x_floor": Spread.of(ratios(row["median_us"], floor)),
            "x_cacheops": Spread.of(ratios(row["median_us"], cacheops)),
        }
        for key, row in rows.items()
    }


def _column(runs: list[dict], name: str) -> list[float]:
    return [run[name] for run in runs]


def http_plain(raw: dict) -> dict:
    base = _column(raw[BASELINE.key]["plain"], "requests_per_s")
    floor = _column(raw[FLOOR.key]["plain"], "requests_per_s")
    cacheops = _column(raw[CACHEOPS.key]["plain"], "requests_per_s")
    out = {}
    for key, runs in raw.items():
        rps = _column(runs["plain"], "requests_per_s")
        out[key] = {
            "rps": Spread.of(rps),
            "x_baseline": Spread.of(ratios(rps, base)),
            "x_floor": Spread.of(ratios(rps, floor)),
            "x_cacheops": Spread.of(ratios(rps, cacheops)),
            "p50": Spread.of(_column(runs["plain"], "p50_ms")),
            "p99": Spread.of(_column(runs["plain"], "p99_ms")),
            "errors": sum(_column(runs["plain"], "errors")),
        }
    return out


def _under_writes(runs: dict) -> dict:
    """The figures of one contender's runs with writes, next to its runs without."""
    loaded = [run["wrk"] for run in runs["writes"]]
    rps = _column(loaded, "requests_per_s")
    p99 = _column(loaded, "p99_ms")
    writes = [write for run in runs["writes"] for write in run["probe"]["writes"]]
    fresh = [w["freshness_ms"] for w in writes if w["freshness_ms"] is not None]
    renders = sum(run["renders"] for run in runs["writes"])
    return {
        "rps": Spread.of(rps),
        "x_plain": Spread.of(ratios(rps, _column(runs["plain"], "requests_per_s"))),
        "p50": Spread.of(_column(loaded, "p50_ms")),
        "p99": Spread.of(p99),
        "p99_x_plain": Spread.of(ratios(p99, _column(runs["plain"], "p99_ms"))),
        "writes": len(writes),
        "seen": len(fresh),
        "fresh_median": statistics.median(fresh) if fresh else None,
        "fresh_p90": percentile(fresh, 0.9) if fresh else None,
        "fresh_max": max(fresh) if fresh else None,
        "renders": renders,
        "renders_per_write": renders / len(writes) if writes else None,
        "errors": sum(_column(loaded, "errors"))
        + sum(run["probe"]["poll_failures"] for run in runs["writes"]),
    }


def http_writes(raw: dict) -> dict:
    floor = [run["wrk"]["requests_per_s"] for run in raw[FLOOR.key]["writes"]]
    base = [run["wrk"]["requests_per_s"] for run in raw[BASELINE.key]["writes"]]
    out = {}
    for key, runs in raw.items():
        row = out[key] = _under_writes(runs)
        rps = _column([run["wrk"] for run in runs["writes"]], "requests_per_s")
        row["x_baseline"] = Spread.of(ratios(rps, base))
        row["x_floor"] = Spread.of(ratios(rps, floor))
    return out


def modes(raw: dict) -> dict:
    """Section 6: per ``mode:target`` run, the figures of ``http_writes`` and the poll statuses."""
    out = {}
    for key, runs in raw.items():
        row = out[key] = _under_writes(runs)
        labels = [sample[2] for run in runs["writes"] for sample in run["probe"]["samples"]]
        row["hit_share"] = labels.count("hit") / len(labels) if labels else None
    return out


def one_render_ms(inproc: dict) -> float:
    """One render of the page: the uncached page's median in-process time, without load."""
    return inproc[UNCACHED.key]["median"].mid / 1000


def goals(inproc: dict | None, plain: dict | None, loaded: dict | None) -> list[dict]:
    """Each goal (the issue's and ANCHORS.md's) for each jimmypage contender: met or not."""
    rows = []
    for contender in JIMMYPAGES:
        for row in contender_goals(contender.key, inproc, plain, loaded):
            rows.append({**row, "goal": f"{contender.label}: {row['goal']}"})
    return rows


# Issue 11, with the process-local tier: (in-process time at most, HTTP req/s at least), as
# multiples of the bare view. Its third goal, no Redis command per warm hit, is in section 2.
TIER_GOALS = {JIMMYPAGE.key: (1.5, 0.8), JIMMYPAGE_EARLY.key: (1.0, 1.0)}


def contender_goals(
    key: str, inproc: dict | None, plain: dict | None, loaded: dict | None
) -> list[dict]:
    """The goals of one jimmypage contender, measured: met or not."""
    rows = []

    def add(goal: str, source: str, measured: str, met: bool) -> None:
        rows.append({"goal": goal, "source": source, "measured": measured, "met": met})

    if inproc:
        hit = inproc[key]
        add(
            "warm hit ≤ 0.8× Django `cache_page` (in-process)",
            "issue 5",
            f"{hit['x_baseline'].mid:.2f}×",
            hit["x_baseline"].mid <= 0.8,
        )
        cacheops = hit["x_cacheops"].mid
        add(
            "warm hit ≤ 1.8× the bare view (in-process)",
            "ANCHORS.md",
            f"{hit['x_floor'].mid:.2f}×",
            hit["x_floor"].mid <= 1.8,
        )
        add(
            "warm hit ≤ 1.0× cacheops' hit (in-process)",
            "ANCHORS.md",
            f"{cacheops:.2f}×",
            cacheops <= 1.0,
        )
        add(
            "warm hit ≤ 0.4× Django `cache_page` on Redis (in-process)",
            "ANCHORS.md",
            f"{hit['x_baseline'].mid:.2f}×",
            hit["x_baseline"].mid <= 0.4,
        )
    tier_goals = TIER_GOALS.get(key)
    if inproc and tier_goals:
        most = tier_goals[0]
        add(
            f"warm hit ≤ {most}× the bare view (in-process)",
            "issue 11",
            f"{inproc[key]['x_floor'].mid:.2f}×",
            inproc[key]["x_floor"].mid <= most,
        )
    if plain and tier_goals:
        least = tier_goals[1]
        add(
            f"HTTP req/s ≥ {least}× the bare view",
            "issue 11",
            f"{plain[key]['x_floor'].mid:.2f}×",
            plain[key]["x_floor"].mid >= least,
        )
    if plain:
        mine = plain[key]
        cacheops = mine["x_cacheops"].mid
        add(
            "HTTP req/s ≥ 1.2× Django `cache_page`",
            "issue 5",
            f"{mine['x_baseline'].mid:.2f}×",
            mine["x_baseline"].mid >= 1.2,
        )
        uncached = mine["rps"].mid / plain[UNCACHED.key]["rps"].mid
        add("HTTP req/s ≥ 10× the page uncached", "issue 5", f"{uncached:.1f}×", uncached >= 10)
        add(
            "HTTP req/s ≥ 0.75× the bare view",
            "ANCHORS.md",
            f"{mine['x_floor'].mid:.2f}×",
            mine["x_floor"].mid >= 0.75,
        )
        add(
            "HTTP req/s ≥ 1.75× Django `cache_page`",
            "ANCHORS.md",
            f"{mine['x_baseline'].mid:.2f}×",
            mine["x_baseline"].mid >= 1.75,
        )
        add("HTTP req/s ≥ 1.1× cacheops", "ANCHORS.md", f"{cacheops:.2f}×", cacheops >= 1.1)
    if loaded:
        mine = loaded[key]
        add(
            "read p99 under writes ≤ 1.5× p99 without writes",
            "issue 5",
            f"{mine['p99_x_plain'].mid:.2f}×",
            mine["p99_x_plain"].mid <= 1.5,
        )
        add(
            "req/s under writes within 5% of the run without writes",
            "ANCHORS.md",
            f"{mine['x_plain'].mid:.2f}×",
            mine["x_plain"].mid >= 0.95,
        )
        add(
            "every write shows in the page",
            "ANCHORS.md",
            f"{mine['seen']} of {mine['writes']}",
            mine["seen"] == mine["writes"],
        )
        if inproc and mine["fresh_median"] is not None:
            render = one_render_ms(inproc)
            budget = render + 50
            add(
                "freshness ≤ one render + 50 ms (median)",
                "issue 5",
                f"{mine['fresh_median']:.0f} ms (budget {render:.0f} + 50 = {budget:.0f} ms; "
                f"max {mine['fresh_max']:.0f} ms)",
                mine["fresh_median"] <= budget,
            )
        if mine["fresh_median"] is not None:
            add(
                "every write shows within 50 ms (median)",
                "ANCHORS.md",
                f"{mine['fresh_median']:.0f} ms",
                mine["fresh_median"] <= 50,
            )
        per_write = mine["renders_per_write"]
        add(
            "renders per generation: 1.00",
            "issue 5",
            f"{per_write:.2f}",
            round(per_write, 2) == 1.0,
        )
    return rows


def labels() -> dict[str, str]:
    return {contender.key: contender.label for contender in CONTENDERS}
