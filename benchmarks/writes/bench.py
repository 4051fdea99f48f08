"""The cost of jimmypage's write hook: saves and bulk inserts with and without it.

    python -m benchmarks.writes.bench [--rounds N] [--rows N] [--output FILE]

(``--output docs/write-hook.md`` rewrites the documentation's page.)

Each round runs one child process without jimmypage and one with it (ABAB, so drift on this
noisy machine hits both alike), on PostgreSQL (127.0.0.1, database jimmypage_bench_writes) with
Django's RedisCache (127.0.0.1:6379, database 13). A child times: N single-row ``save()`` calls
inside one transaction, N in autocommit, and one ``bulk_create`` of N rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "jimmypage_bench_writes"
CASES = ("save in one transaction", "save in autocommit", "bulk_create")


def configure(with_jimmypage: bool) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[*(["jimmypage"] if with_jimmypage else []), "benchmarks.writes"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "USER": "postgres",
                "NAME": DATABASE,
            }
        },
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:6379/13",
            }
        },
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def child(with_jimmypage: bool, rows: int) -> dict[str, float]:
    """Run the three cases once in this process; seconds per case."""
    configure(with_jimmypage)
    from django.db import connection, transaction

    from benchmarks.writes.models import Row

    with connection.schema_editor() as editor:
        editor.execute('DROP TABLE IF EXISTS "writes_row"')
        editor.create_model(Row)
    timings = {}
    start = time.perf_counter()
    with transaction.atomic():
        for number in range(rows):
            Row(name="r", number=number).save()
    timings[CASES[0]] = time.perf_counter() - start
    start = time.perf_counter()
    for number in range(rows):
        Row(name="r", number=number).save()
    timings[CASES[1]] = time.perf_counter() - start
    start = time.perf_counter()
    Row.objects.bulk_create(Row(name="b", number=number) for number in range(rows))
    timings[CASES[2]] = time.perf_counter() - start
    return timings


def create_database() -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            db.execute(f'CREATE DATABASE "{DATABASE}"')


def run_child(with_jimmypage: bool, rows: int) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.writes.bench", "--child", "--rows", str(rows)]
    if with_jimmypage:
        command.append("--with-jimmypage")
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.splitlines()[-1])


GOALS = {CASES[0]: 1.10, CASES[1]: 1.5}

PAGE_HEAD = """# The cost of the write hook

jimmypage sees every write through an execute wrapper on each database connection (see
[How it works](how-it-works.md)). This page is what that costs, written by
`python -m benchmarks.writes.bench --rounds {rounds} --output docs/write-hook.md`
on {when}: PostgreSQL and Django's `RedisCache`, both on 127.0.0.1, with and without
`"jimmypage"` in `INSTALLED_APPS`, in interleaved child processes.

- Inside a transaction a save pays for the hook only: the generation changes once, on commit.
- In autocommit each write changes the generation right after its statement: one cache write
  (a Redis `SET`) per save. That round trip is most of the difference.
- `bulk_create` is one statement, so one decision and one cache write.

"""


def report(results: dict[bool, list[dict[str, float]]], rows: int, rounds: int) -> str:
    lines = [
        f"{rows:,} rows per case, {rounds} interleaved rounds, median seconds.",
        "",
        "| case | without jimmypage | with jimmypage | ratio (min / median / max) | goal |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        without = [r[case] for r in results[False]]
        with_ = [r[case] for r in results[True]]
        ratios = [w / wo for w, wo in zip(with_, without, strict=True)]
        lines.append(
            f"| {case} | {statistics.median(without):.3f} s | {statistics.median(with_):.3f} s "
            f"| {min(ratios):.2f}× / {statistics.median(ratios):.2f}× / {max(ratios):.2f}× "
            f"| {goal(case, statistics.median(ratios))} |"
        )
    return "\n".join(lines) + "\n"


def goal(case: str, ratio: float) -> str:
    """The issue's goal for ``case`` and whether the median ``ratio`` meets it."""
    if case not in GOALS:
        return "–"
    return f"≤ {GOALS[case]:.2f}× ({'met' if ratio <= GOALS[case] else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--with-jimmypage", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.with_jimmypage, args.rows)))
        return
    create_database()
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for with_jimmypage in (False, True):
            results[with_jimmypage].append(run_child(with_jimmypage, args.rows))
    text = report(results, args.rows, args.rounds)
    print(text)
    if args.output:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        args.output.write_text(PAGE_HEAD.format(rounds=args.rounds, when=when) + text)


if __name__ == "__main__":
    main()
