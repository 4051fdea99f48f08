"""Section 7 of docs/benchmarks.md: signed-in visitors, their figures, table and goals."""

from __future__ import annotations

from benchsite.contenders import (
    BY_KEY,
    FLOOR,
    JIMMYPAGE,
    JIMMYPAGE_EARLY,
    SIGNED_DJANGO,
    SIGNED_EARLY,
)

from .report import num, spread, table
from .stats import Spread, ratios


def summarise(raw: dict) -> dict:
    """Per contender: time, ratios (round by round), per-hit counts and HTTP figures."""
    rows = raw["contenders"]
    http = raw.get("http", {})

    def median(key: str) -> list[float]:
        return rows[key]["median_us"]

    def rps(key: str) -> list[float]:
        return [run["requests_per_s"] for run in http.get(key, [])]

    out = {}
    for key, row in rows.items():
        found = {
            "median": Spread.of(row["median_us"]),
            "p99": Spread.of(row["p99_us"]),
            "x_django": Spread.of(ratios(median(key), median(SIGNED_DJANGO.key))),
            "x_anonymous_early": Spread.of(ratios(median(key), median(JIMMYPAGE_EARLY.key))),
            "x_anonymous": Spread.of(ratios(median(key), median(JIMMYPAGE.key))),
            "x_floor": Spread.of(ratios(median(key), median(FLOOR.key))),
            **raw["per_hit"].get(key, {}),
        }
        if http:
            found["rps"] = Spread.of(rps(key))
            found["rps_x_django"] = Spread.of(ratios(rps(key), rps(SIGNED_DJANGO.key)))
            found["rps_x_anonymous_early"] = Spread.of(ratios(rps(key), rps(JIMMYPAGE_EARLY.key)))
            found["http_p99"] = Spread.of([run["p99_ms"] for run in http[key]])
        out[key] = found
    return out


def signed_in_table(rows: dict) -> str:
    header = [
        "contender",
        "median µs",
        "p99 µs",
        "× Django + `vary_on_cookie`",
        "× jimmypage anonymous (early)",
        "× bare view",
        "SQL / hit",
        "cache round trips / hit",
        "HTTP req/s",
        "req/s × Django + `vary_on_cookie`",
        "HTTP p99 ms",
    ]
    lines = []
    for key, row in rows.items():
        lines.append(
            [
                BY_KEY[key].label + ("" if key.startswith("signed") else " (no cookie)"),
                spread(row["median"]),
                spread(row["p99"]),
                spread(row["x_django"], 2),
                spread(row["x_anonymous_early"], 2),
                spread(row["x_floor"], 2),
                num(row.get("sql_queries"), 2),
                num(row.get("round_trips"), 2),
                spread(row["rps"]) if "rps" in row else "—",
                spread(row["rps_x_django"], 2) if "rps" in row else "—",
                spread(row["http_p99"], 1) if "rps" in row else "—",
            ]
        )
    return table(header, lines)


def goals(rows: dict | None) -> list[dict]:
    """Issue 12's goals for a signed-in hit through ``SignedInHitMiddleware``: met or not."""
    if not rows:
        return []
    mine = rows[SIGNED_EARLY.key]
    found = []

    def add(goal: str, measured: str, met: bool) -> None:
        label = f"{SIGNED_EARLY.label}: {goal}"
        found.append({"goal": label, "source": "issue 12", "measured": measured, "met": met})

    sql, trips = mine.get("sql_queries"), mine.get("round_trips")
    add("0 SQL queries per warm hit", num(sql, 2), sql == 0)
    add("1 cache round trip per warm hit", num(trips, 2), trips is not None and trips <= 1.0)
    x_django, x_anonymous = mine["x_django"].mid, mine["x_anonymous_early"].mid
    add(
        "warm hit ≤ 0.5× Django `cache_page` + `vary_on_cookie` (in-process)",
        f"{x_django:.2f}×",
        x_django <= 0.5,
    )
    add(
        "warm hit ≤ 1.5× jimmypage's anonymous hit (AnonymousHitMiddleware, in-process)",
        f"{x_anonymous:.2f}× (× jimmypage's `cache_page` anonymous hit: "
        f"{mine['x_anonymous'].mid:.2f}×)",
        x_anonymous <= 1.5,
    )
    if "rps" in mine:
        over_django = mine["rps_x_django"].mid
        over_anonymous = mine["rps_x_anonymous_early"].mid
        add(
            "HTTP req/s ≥ 2× Django `cache_page` + `vary_on_cookie` (0.5× its time)",
            f"{over_django:.2f}×",
            over_django >= 2.0,
        )
        add(
            "HTTP req/s ≥ 1/1.5 of jimmypage's anonymous hit (AnonymousHitMiddleware)",
            f"{over_anonymous:.2f}×",
            over_anonymous >= 1 / 1.5,
        )
    return found
