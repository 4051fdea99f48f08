"""docs/benchmarks.md: the tables, the plots, the versions and the goals of one run."""

from __future__ import annotations

import math

from benchsite.contenders import BASELINE, FLOOR

from . import summary
from .stats import Spread

BASE = "Django `cache_page`"


def num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def spread(value: Spread, digits: int = 0) -> str:
    if math.isnan(value.mid):
        return "—"
    if num(value.low, digits) == num(value.high, digits):
        return num(value.mid, digits)
    return f"{num(value.mid, digits)} ({num(value.low, digits)}–{num(value.high, digits)})"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def label(key: str) -> str:
    return summary.labels()[key]


def inprocess_table(rows: dict) -> str:
    return table(
        ["contender", "requests per round", "median µs", "p99 µs", f"× {BASE}", "× bare view"],
        [
            [
                label(key),
                num(row["count"]),
                spread(row["median"]),
                spread(row["p99"]),
                spread(row["x_baseline"], 2),
                spread(row["x_floor"], 2),
            ]
            for key, row in rows.items()
        ],
    )


def roundtrips_table(rows: dict) -> str:
    base = rows[BASELINE.key]["round_trips"]
    out = []
    for key, row in rows.items():
        by_command = ", ".join(f"{name} {calls:.2f}" for name, calls in row["by_command"].items())
        out.append(
            [
                label(key),
                num(row["round_trips"], 2),
                num(row["server_commands"], 2),
                by_command or "—",
                num(row["clients_built"], 2),
                num(row["sql_queries"], 1),
                num(row["round_trips"] / base if base else None, 2),
            ]
        )
    return table(
        [
            "contender",
            "cache round trips",
            "Redis commands",
            "by command",
            "redis-py clients built",
            "SQL queries",
            f"round trips × {BASE}",
        ],
        out,
    )


def http_table(rows: dict) -> str:
    return table(
        ["contender", "req/s", f"× {BASE}", "× bare view", "p50 ms", "p99 ms", "errors"],
        [
            [
                label(key),
                spread(row["rps"]),
                spread(row["x_baseline"], 2),
                spread(row["x_floor"], 2),
                spread(row["p50"], 1),
                spread(row["p99"], 1),
                num(row["errors"]),
            ]
            for key, row in rows.items()
        ],
    )


def writes_table(rows: dict) -> str:
    out = []
    for key, row in rows.items():
        shows = key != FLOOR.key
        fresh = (
            f"{num(row['fresh_median'])} / {num(row['fresh_p90'])} / {num(row['fresh_max'])}"
            if row["seen"]
            else "never"
        )
        out.append(
            [
                label(key),
                spread(row["rps"]),
                spread(row["x_plain"], 2),
                spread(row["x_baseline"], 2),
                spread(row["x_floor"], 2),
                spread(row["p50"], 1),
                spread(row["p99"], 1),
                spread(row["p99_x_plain"], 2),
                f"{row['seen']} of {row['writes']}" if shows else "—",
                fresh if shows else "—",
                num(row["renders_per_write"], 2) if shows else "—",
                num(row["errors"]),
            ]
        )
    return table(
        [
            "contender",
            "req/s",
            "× without writes",
            f"× {BASE}",
            "× bare view",
            "p50 ms",
            "p99 ms",
            "p99 × without writes",
            "writes seen",
            "freshness ms: median / p90 / max",
            "renders per write",
            "errors",
        ],
        out,
    )


MODE_RUN_LABELS = {
    "global:visit": ("global", "a table the page never reads"),
    "per-table:visit": ("per-table", "a table the page never reads"),
    "per-table:article": ("per-table", "the page's articles"),
}


def modes_table(rows: dict) -> str:
    out = []
    for key, row in rows.items():
        mode, target = MODE_RUN_LABELS.get(key, (key, ""))
        shows = key.endswith(":article")
        out.append(
            [
                mode,
                target,
                spread(row["rps"]),
                spread(row["x_plain"], 2),
                spread(row["p99"], 1),
                spread(row["p99_x_plain"], 2),
                num(row["renders_per_write"], 2),
                num(100 * row["hit_share"]) + " %" if row["hit_share"] is not None else "—",
                f"{row['seen']} of {row['writes']}, {num(row['fresh_median'])} ms"
                if shows
                else "(nothing to show)",
                num(row["errors"]),
            ]
        )
    return table(
        [
            "mode",
            "writes to",
            "req/s",
            "× without writes",
            "p99 ms",
            "p99 × without writes",
            "renders per write",
            "polls answered `hit`",
            "writes seen, freshness median",
            "errors",
        ],
        out,
    )


def sizes_table(rows: dict) -> str:
    base = rows[BASELINE.key]["largest"]
    out = []
    for key, row in rows.items():
        entry = num(row["largest"])
        if key == "cachalot":
            entry += f" (largest of {len(row['keys']) - 1} query results)"
        out.append(
            [
                label(key),
                num(len(row["keys"])),
                entry,
                num(row["total_bytes"]),
                num(row["total_memory"]),
                num(row["largest"] / base, 2),
                num(row["largest"] / row["html_bytes"], 2),
            ]
        )
    return table(
        [
            "contender",
            "keys written",
            "page entry bytes",
            "all values bytes",
            "Redis MEMORY USAGE bytes",
            f"entry × {BASE}'s",
            "entry × the HTML",
        ],
        out,
    )


def profile_tables(profile: dict) -> str:
    def rows(entries: list[dict], count: int) -> list[list[str]]:
        return [
            [f"`{entry['frame']}`", f"{entry['share'] * 100:.1f}%", num(entry["us_per_hit"], 1)]
            for entry in entries[:count]
        ]

    inclusive = [
        entry
        for entry in profile["inclusive"]
        if not entry["frame"].startswith(("measure (harness", "get (harness"))
    ]
    return "\n\n".join(
        [
            "Inclusive (the function and what it calls):",
            table(["frame", "share of a request", "µs per hit (profiled)"], rows(inclusive, 22)),
            "Self (the function's own code):",
            table(
                ["frame", "share of a request", "µs per hit (profiled)"], rows(profile["self"], 15)
            ),
        ]
    )


def goals_table(goals: list[dict]) -> str:
    return table(
        ["goal", "from", "jimmypage measured", "met?"],
        [
            [g["goal"], g["source"], g["measured"], "met" if g["met"] else "**not met**"]
            for g in goals
        ],
    )


def versions_table(meta: dict) -> str:
    versions = meta["versions"]
    rows = [["Python", versions["python"]]]
    rows += [[name, version] for name, version in versions["packages"].items()]
    rows += [
        ["jimmypage commit", versions["jimmypage_commit"]],
        ["Redis server", versions["redis_server"]],
        ["PostgreSQL server", versions["postgresql"]],
        ["wrk", versions["wrk"]],
        ["machine", f"{versions['cores']} cores, {versions['cpu']}"],
        ["system", f"{versions['os']}, Linux {versions['kernel']}"],
    ]
    return table(["what", "version"], rows)
