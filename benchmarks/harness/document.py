"""docs/benchmarks.md: ``template.md`` filled in with the tables, plots and versions of a run."""

from __future__ import annotations

import os
from string import Template

from benchsite.contenders import CONTENDERS

from . import report, signed_in_report, summary

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.md")
NOT_RUN = "_Not measured in this run._"


def _rounds(count: int) -> str:
    return "1 round" if count == 1 else f"{count} interleaved rounds"


def _commandstats_note(rows: dict) -> str:
    same = all(
        abs(row["server_commands"] - row["server_commands_all_clients"]) < 0.005
        for row in rows.values()
    )
    if same:
        return "the same counts"
    return (
        "more for some rows, because other clients used the same Redis server meanwhile; "
        "the table gives the benchmark's own"
    )


def _profile(profile: dict | None) -> str:
    if profile is None:
        return NOT_RUN
    return (
        f"pyinstrument, sampling every 0.2 ms, over {report.num(profile['hits'])} warm "
        "in-process hits of `/jimmypage/`. The profiler slows each hit to "
        f"{report.num(profile['us_per_hit_profiled'])} µs, so read the shares. Frames by "
        "inclusive time (counted once per stack) and by self time.\n\n"
        + report.profile_tables(profile)
    )


def render(results: dict) -> str:
    meta, plan = results["meta"], results["meta"]["plan"]
    inproc = summary.inprocess(results["inprocess"]) if "inprocess" in results else None
    plain = summary.http_plain(results["http"]) if "http" in results else None
    loaded = summary.http_writes(results["http"]) if "http" in results else None
    signed = signed_in_report.summarise(results["signedin"]) if "signedin" in results else None
    goals = summary.goals(inproc, plain, loaded) + signed_in_report.goals(signed)
    roundtrips, sizes = results.get("roundtrips"), results.get("sizes")
    modes = summary.modes(results["modes"]) if "modes" in results else None
    minutes, seconds = divmod(round(meta["duration_s"]), 60)
    values = {
        "finished": meta["finished"],
        "duration": f"{minutes} min {seconds:02d} s",
        "venv": "a new virtualenv" if meta.get("fresh_venv") else "an existing virtualenv",
        "command": meta["command"],
        "goals": report.goals_table(goals) if goals else NOT_RUN,
        "queries": report.num((roundtrips or {}).get("uncached", {}).get("sql_queries")),
        "html": report.num((sizes or {}).get("jimmypage", {}).get("html_bytes")),
        "contenders": "\n".join(f"- `{c.path}`: {c.label}" for c in CONTENDERS),
        "inprocess_rounds": _rounds(plan["inprocess_rounds"]),
        "inprocess": NOT_RUN
        if inproc is None
        else report.inprocess_table(inproc)
        + "\n\n![warm-hit time as a multiple of the bare view](img/benchmarks-hit.png)",
        "commandstats": _commandstats_note(roundtrips) if roundtrips else "nothing",
        "roundtrips": report.roundtrips_table(roundtrips) if roundtrips else NOT_RUN,
        "http_seconds": f"{plan['http_seconds']}s",
        "http_rounds": _rounds(plan["http_rounds"]),
        "http": report.http_table(plain) if plain else NOT_RUN,
        "interval": f"{plan['interval'] * 1000:.0f} ms",
        "writes": plan["writes"],
        "writes_table": report.writes_table(loaded) if loaded else NOT_RUN,
        "writes_plot": "![latency over time during the writes](img/benchmarks-writes.png)"
        if loaded
        else "",
        "sizes": report.sizes_table(sizes) if sizes else NOT_RUN,
        "modes_rounds": _rounds(plan.get("modes_rounds", 0)),
        "modes": report.modes_table(modes) if modes else NOT_RUN,
        "profile": _profile(results.get("profile")),
        "signed_in": signed_in_report.signed_in_table(signed) if signed else NOT_RUN,
        "versions": report.versions_table(meta),
    }
    with open(TEMPLATE) as handle:
        return Template(handle.read()).substitute(values)
