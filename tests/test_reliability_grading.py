"""The pure parts of the integrity model: the canary verdict, hidden test selection, refused patch paths."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import PROJECT
from resq_runner.grading.canaries import Canaries, plant
from resq_runner.grading.reports import decide
from resq_runner.grading.selection import hidden_test_ids
from resq_runner.models import HarnessStatus, Outcome, Success, TestStatus
from resq_runner.sandbox import parse_size

P, F, S = TestStatus.passed, TestStatus.failed, TestStatus.skipped
HIDDEN = ["tests/test_h.py::test_one", "tests/test_h.py::TestGroup::test_two"]


def harness():
    spec = importlib.util.spec_from_file_location("grade", PROJECT / "harness" / "grade.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def graded(tests: dict, canary: Canaries, exit_code: int = 1, success: Success = Success()):
    status = HarnessStatus(applied=True, report_found=True, test_exit=exit_code)
    return decide(status, tests, success, canary=canary, hidden=HIDDEN)


HIDDEN_SOURCE = {"tests/test_h.py": b"def test_one():\n    pass\n\n\nclass TestGroup:\n    def test_two(self):\n"
                                     b"        pass\n"}


@pytest.fixture
def canary():
    return plant(HIDDEN_SOURCE, "python -m pytest -q tests", "pytest")


def honest(canary: Canaries, canary_status=F) -> dict:
    return {"tests/test_h.py::test_one": P, "tests/test_h.py::TestGroup::test_two": P,
            **{test_id: canary_status if n == 0 else F for n, test_id in enumerate(canary.ids)}}


def test_honest_run_passes_with_the_canary_failing(canary):
    verdict = graded(honest(canary), canary)
    assert verdict.outcome is Outcome.passed
    assert not set(canary.ids) & set(verdict.tests)


@pytest.mark.parametrize("canary_status", [P, S])
def test_a_canary_that_did_not_fail_means_a_forged_report(canary, canary_status):
    verdict = graded(honest(canary, canary_status), canary, exit_code=0)
    assert verdict.outcome is Outcome.failed
    assert "cannot be trusted" in verdict.reason


def test_a_missing_canary_beside_passing_tests_is_forged(canary):
    tests = honest(canary)
    del tests[canary.ids[-1]]
    assert "cannot be trusted" in graded(tests, canary).reason


def test_a_missing_canary_in_a_broken_run_is_just_a_failure(canary):
    verdict = graded({"tests/test_h.py": TestStatus.error}, canary, exit_code=2)
    assert verdict.outcome is Outcome.failed
    assert "cannot be trusted" not in verdict.reason


def test_exit_code_must_match_only_the_canary_failing(canary):
    assert graded(honest(canary), canary, exit_code=0).outcome is Outcome.failed
    assert graded(honest(canary), canary, exit_code=2).outcome is Outcome.failed


def test_every_hidden_test_must_be_reported_and_pass(canary):
    tests = honest(canary)
    del tests["tests/test_h.py::TestGroup::test_two"]
    verdict = graded(tests, canary)
    assert verdict.outcome is Outcome.failed and "TestGroup::test_two missing" in verdict.reason
    tests = honest(canary)
    tests["tests/test_h.py::test_one"] = S
    assert graded(tests, canary).outcome is Outcome.failed


def test_parametrised_hidden_tests_count_under_their_base_id(canary):
    tests = {"tests/test_h.py::test_one[1]": P, "tests/test_h.py::test_one[2]": P,
             "tests/test_h.py::TestGroup::test_two": P, **{test_id: F for test_id in canary.ids}}
    assert graded(tests, canary).outcome is Outcome.passed
    tests["tests/test_h.py::test_one[2]"] = F
    assert graded(tests, canary).outcome is Outcome.failed


def test_listed_tests_ignore_the_exit_code_but_not_the_canary(canary):
    success = Success(fail_to_pass=["tests/test_h.py::test_one"])
    assert graded(honest(canary), canary, exit_code=1, success=success).outcome is Outcome.passed
    forged = graded(honest(canary, P), canary, exit_code=0, success=success)
    assert forged.outcome is Outcome.failed and "canary" in forged.reason


def test_canaries_sit_in_the_hidden_files_and_look_like_their_tests(canary):
    assert len(canary.ids) >= 2 and all(i.startswith("tests/test_h.py::test_") for i in canary.ids)
    planted = canary.planted(HIDDEN_SOURCE)["tests/test_h.py"].decode()
    assert planted.startswith(HIDDEN_SOURCE["tests/test_h.py"].decode())
    assert "hashlib" not in planted and "canary" not in planted
    namespace = {}
    exec(compile(planted, "test_h.py", "exec"), namespace)
    for test_id in canary.ids:
        with pytest.raises(AssertionError):
            namespace[test_id.rsplit("::", 1)[1]]()


def test_canaries_are_named_on_the_command_line_only_when_their_file_is_not_run_whole():
    assert plant(HIDDEN_SOURCE, "pytest tests", "pytest").arguments == ()
    assert plant(HIDDEN_SOURCE, "pytest -k one tests/test_h.py", "pytest").arguments == ()
    picked = plant(HIDDEN_SOURCE, "pytest tests/test_h.py::test_one", "pytest")
    assert picked.arguments == picked.ids
    assert plant(HIDDEN_SOURCE, "pytest other", "pytest").ids == ()


def test_a_file_with_one_short_test_name_still_gets_distinct_canaries():
    canary = plant({"tests/test_v.py": b"def test_value(answer):\n    pass\n"}, "pytest tests", "pytest")
    assert len(set(canary.ids)) == 2 and "tests/test_v.py::test_value" not in canary.ids


def test_a_test_name_repeating_its_words_still_gets_canaries():
    """Six words, five of them distinct: the canaries' names are drawn from the distinct ones."""
    hidden = {"tests/test_s.py": b"def test_the_harness_set_the_framework_up():\n    pass\n"}
    canary = plant(hidden, "pytest tests", "pytest")
    assert len(set(canary.ids)) == 2 and "tests/test_s.py::test_the_harness_set_the_framework_up" not in canary.ids


def test_node_canaries_follow_the_module_style_of_their_file():
    cjs = b"const test = require('node:test');\ntest('adds two numbers', () => {});\n"
    esm = b"import test from 'node:test';\ntest('adds two numbers', () => {});\n"
    for source, marker in ((cjs, "require('node:test')"), (esm, "from 'node:test'")):
        canary = plant({"test/a.test.js": source}, "node --test test/", "node")
        assert len(canary.ids) == 2
        assert canary.appended["test/a.test.js"].count(marker) == 1


def test_hidden_test_ids_follow_what_the_command_selects():
    hidden = {"tests/test_a.py": b"def test_x(): pass\nclass TestY:\n    def test_z(self): pass\n",
              "tests/helpers.py": b"def test_not_collected(): pass\n",
              "other/test_b.py": b"async def test_w(): pass\n"}
    every = ["other/test_b.py::test_w", "tests/test_a.py::test_x", "tests/test_a.py::TestY::test_z"]
    assert hidden_test_ids(hidden, "python -m pytest -q -p no:cacheprovider") == every
    assert hidden_test_ids(hidden, "python -m pytest -q tests") == every[1:]
    assert hidden_test_ids(hidden, "pytest -k fast tests/test_a.py::test_x") == ["tests/test_a.py::test_x"]
    assert hidden_test_ids(hidden, "python -m pytest tests/test_c.py") == []


def test_patch_paths_outside_the_repository_are_refused():
    unsafe = harness().unsafe_paths
    assert unsafe(b"--- a/x.py\n+++ b/x.py\n") == set()
    assert unsafe(b"--- /dev/null\n+++ b/new/file.py\n") == set()
    assert unsafe(b"diff --git a/../up b/../up\n") == {"../up"}
    assert unsafe(b"--- /dev/null\n+++ /etc/cron.d/x\n") == {"/etc/cron.d/x"}
    assert unsafe(b"diff --git a/.git/config b/.git/config\n") == {".git/config"}
    assert unsafe(b"rename from a.py\nrename to ../../b.py\n") == {"../../b.py"}
    assert unsafe(b"--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n") == set()
    assert unsafe(b'diff --git "a/\\056git/hooks/x" "b/\\056git/hooks/x"\n') == {".git/hooks/x"}
    assert unsafe(b'+++ "b/\\056\\056/up"\n') == {"../up"}
    assert unsafe(b'diff --git "a/tests/a\\nb/conftest.py" "b/tests/a\\nb/conftest.py"\n') == {"tests/a\\nb/conftest.py"}
    assert unsafe(b'+++ "b/caf\\303\\251.py"\n') == set()


def test_protected_globs_match_over_the_whole_path():
    regex = harness().glob_regex
    assert regex("**/conftest.py").fullmatch("tests/a\nb/conftest.py")
    assert regex("tests/**").fullmatch("tests/x\ty/conftest.py")


def test_sizes():
    assert parse_size("512m") == 512 << 20
    assert parse_size("2g") == 2 << 30
    assert parse_size("100") == 100
    with pytest.raises(ValueError):
        parse_size("lots")


def test_signal_names_from_exit_codes():
    name = harness().signal_name
    assert name(-9) == "SIGKILL"
    assert name(137) == "SIGKILL"
    assert name(1) is None and name(0) is None and name(None) is None
