"""The summary of a ./runtests cell (tests/cell_outcome.py): a cell that ran nothing is skipped."""

from __future__ import annotations

import pytest

from tests.cell_outcome import FAILURES_SHOWN, failures, outcome

SKIPPED = (
    '<testcase name="{name}"><skipped type="pytest.skip" message="{why}">x</skipped></testcase>'
)
XFAILED = (
    '<testcase name="{name}"><skipped type="pytest.xfail" message="{why}">x</skipped></testcase>'
)
PASSED = '<testcase name="{name}" />'


@pytest.fixture
def report(tmp_path):
    def write(*cases: str) -> str:
        path = tmp_path / "report.xml"
        body = "".join(
            case.format(name=f"t{i}", why="server not running: memcached")
            for i, case in enumerate(cases)
        )
        path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
        return str(path)

    return write


def test_a_cell_whose_tests_all_skipped_says_skipped_and_why(report):
    path = report(SKIPPED, SKIPPED, SKIPPED)
    assert outcome(path, 0) == "skipped (all 3 tests: server not running: memcached)"


def test_a_cell_that_ran_one_test_passed(report):
    assert outcome(report(SKIPPED, PASSED), 0) == "passed"
    assert outcome(report(SKIPPED, XFAILED), 0) == "passed"  # an xfail ran


def test_a_cell_that_collected_nothing_is_skipped(report):
    assert outcome(report(), 5) == "skipped (no tests collected)"
    assert outcome(report(), 0) == "skipped (no tests collected)"


def test_a_failing_cell_failed(report):
    assert outcome(report(SKIPPED, PASSED), 1) == "FAILED"
    assert outcome(None, 2) == "FAILED"


def test_a_failing_cell_names_its_failed_tests_with_the_first_line_of_each_message(report):
    failed = (
        '<testcase classname="tests.test_tier" name="{name}">'
        '<failure message="assert 1 == 2&#10;more">trace</failure></testcase>'
    )
    erred = '<testcase classname="tests.test_cache" name="{name}"><error>boom</error></testcase>'
    assert failures(report(PASSED, failed, erred, SKIPPED)) == [
        "tests/test_tier.py::t1: assert 1 == 2",
        "tests/test_cache.py::t2: boom",
    ]
    many = failures(report(*[failed] * (FAILURES_SHOWN + 3)))
    assert len(many) == FAILURES_SHOWN + 1 and many[-1] == "... and 3 more"
    assert failures("/nonexistent/report.xml")[0].startswith("(no report")
