"""The outcome of one cell of ./runtests, from pytest's exit status and its JUnit XML report.

    python tests/cell_outcome.py REPORT.xml EXIT_STATUS
    python tests/cell_outcome.py --failures REPORT.xml

The first prints one line: ``passed``, ``FAILED`` or ``skipped (<why>)``. A cell in which no
test ran (all skipped, or none collected: exit status 5) is ``skipped``, never ``passed``, with
the reason most of its tests gave; ./runtests fails such a cell under CI. The second prints a
line per failed or erroring test, with the first line of its message: ./runtests puts them in
its summary, which stays readable when a long log is cut.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter

NO_TESTS_COLLECTED = 5
FAILURES_SHOWN = 10


def skip_reasons(report: str) -> tuple[int, Counter]:
    """How many tests ran, and why each of the others was skipped (xfails ran)."""
    ran, reasons = 0, Counter()
    for case in ElementTree.parse(report).iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None or skipped.get("type") == "pytest.xfail":
            ran += 1
        else:
            reasons[skipped.get("message", "")] += 1
    return ran, reasons


def outcome(report: str | None, status: int) -> str:
    """The cell's summary word, with the reason when nothing ran."""
    if status == NO_TESTS_COLLECTED:
        return "skipped (no tests collected)"
    if status != 0:
        return "FAILED"
    try:
        ran, reasons = skip_reasons(report) if report else (0, Counter())
    except (OSError, ElementTree.ParseError):
        return "passed"  # no report to read: pytest's status is all there is
    if ran:
        return "passed"
    if not reasons:
        return "skipped (no tests collected)"
    total = sum(reasons.values())
    reason, count = reasons.most_common(1)[0]
    if count == total:
        return f"skipped (all {total} tests: {reason})"
    return f"skipped (all {total} tests; {count} of them: {reason})"


def failures(report: str) -> list[str]:
    """``file::test: first line of the message`` for each test that failed or erred."""
    try:
        cases = list(ElementTree.parse(report).iter("testcase"))
    except (OSError, ElementTree.ParseError) as exc:
        return [f"(no report to name the failed tests: {exc})"]
    lines = []
    for case in cases:
        for problem in (case.find("failure"), case.find("error")):
            if problem is None:
                continue
            where = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            lines.append(f"{where}: {message[0][:200] if message else problem.tag}")
    if len(lines) > FAILURES_SHOWN:
        lines[FAILURES_SHOWN:] = [f"... and {len(lines) - FAILURES_SHOWN} more"]
    return lines


if __name__ == "__main__":
    if sys.argv[1] == "--failures":
        print("\n".join(failures(sys.argv[2])))
    else:
        print(outcome(sys.argv[1], int(sys.argv[2])))
