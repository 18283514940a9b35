"""Pure grading functions: JUnit → per-test statuses → verdict."""

from resq_runner.grading import decide, parse_junit
from resq_runner.grading.reports import ReportError, junit_test_id
from resq_runner.models import HarnessStatus, Outcome, Success, TestStatus

import pytest

JUNIT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
  <testcase classname="tests.test_money" file="tests/test_money.py" name="test_ok" />
  <testcase classname="tests.test_money" file="tests/test_money.py" name="test_bad"><failure message="x"/></testcase>
  <testcase classname="tests.test_money.TestAlloc" file="tests/test_money.py" name="test_x[1-2]" />
  <testcase classname="tests.test_money" file="tests/test_money.py" name="test_err"><error message="boom"/></testcase>
  <testcase classname="tests.test_money" file="tests/test_money.py" name="test_skip"><skipped/></testcase>
</testsuite></testsuites>"""

RAN = HarnessStatus(applied=True, test_exit=1, report_found=True)


def test_junit_ids_are_pytest_node_ids():
    statuses = parse_junit(JUNIT)
    assert statuses == {
        "tests/test_money.py::test_ok": TestStatus.passed,
        "tests/test_money.py::test_bad": TestStatus.failed,
        "tests/test_money.py::TestAlloc::test_x[1-2]": TestStatus.passed,
        "tests/test_money.py::test_err": TestStatus.error,
        "tests/test_money.py::test_skip": TestStatus.skipped,
    }


def test_inherited_tests_are_named_where_they_run():
    attrib = {"classname": "tests.test_tlru.TLRUCacheTest", "file": "tests/__init__.py", "name": "test_clear"}
    assert junit_test_id(attrib) == "tests/test_tlru.py::TLRUCacheTest::test_clear"


def test_ids_without_file_attribute_use_classname():
    assert junit_test_id({"classname": "suite.a", "name": "t"}) == "suite.a::t"


def test_a_failure_recorded_twice_is_not_hidden_by_a_later_pass():
    xml = b"""<testsuite><testcase classname="m" name="t"><failure/></testcase>
              <testcase classname="m" name="t"/></testsuite>"""
    assert parse_junit(xml) == {"m::t": TestStatus.failed}


def test_broken_xml_is_a_report_error():
    with pytest.raises(ReportError):
        parse_junit(b"<testsuite><testcase")


def test_listed_tests_decide():
    statuses = parse_junit(JUNIT)
    ok = decide(RAN, statuses, Success(fail_to_pass=["tests/test_money.py::test_ok"],
                                       pass_to_pass=["tests/test_money.py::TestAlloc::test_x[1-2]"]))
    assert ok.outcome is Outcome.passed
    missing = decide(RAN, statuses, Success(fail_to_pass=["tests/test_money.py::test_gone"]))
    assert missing.outcome is Outcome.failed
    assert missing.fail_to_pass == {"tests/test_money.py::test_gone": TestStatus.missing}


def test_all_tests_mode_needs_every_test_passing_and_a_clean_exit():
    passing = {"a::t": TestStatus.passed, "a::s": TestStatus.skipped}
    assert decide(RAN.model_copy(update={"test_exit": 0}), passing, Success()).outcome is Outcome.passed
    assert decide(RAN, passing, Success()).outcome is Outcome.failed  # exit 1 with a clean report
    assert decide(RAN.model_copy(update={"test_exit": 0}), {}, Success()).outcome is Outcome.failed


def test_exit_code_alone_never_passes():
    no_report = HarnessStatus(applied=True, test_exit=0, report_found=False)
    verdict = decide(no_report, {}, Success())
    assert verdict.outcome is Outcome.failed
    assert "no test report" in verdict.reason


def test_patch_failure_and_timeout():
    failed_apply = HarnessStatus(applied=False, apply_log="$ git apply\nerror: patch failed: a.py:3\n")
    assert decide(failed_apply, {}, Success()).outcome is Outcome.patch_failed
    assert decide(failed_apply, {}, Success()).reason == "error: patch failed: a.py:3"
    late = HarnessStatus(applied=True, timed_out=True)
    assert decide(late, {}, Success()).outcome is Outcome.timed_out


def test_out_of_memory_is_a_failure_with_reason():
    verdict = decide(RAN, {}, Success(), oom_killed=True)
    assert verdict.outcome is Outcome.failed and "memory" in verdict.reason
