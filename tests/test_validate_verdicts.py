"""validation.judge: the verdict from gold and noop Result rows (a pure function; the containers are exercised by
tests/test_validate.py)."""

from __future__ import annotations

import pytest

from conftest import DEMO
from resq_runner.models import Outcome, Result, SystemSpec, TestStatus, now_utc
from resq_runner.tasks import load_suite
from resq_runner.validation import Evaluations, judge

P, F = TestStatus.passed, TestStatus.failed


@pytest.fixture(scope="module")
def task():
    (tf,) = load_suite(DEMO, ["fix-allocate-remainder"])
    return tf


def result(system: str, outcome: Outcome, tests: dict[str, TestStatus]) -> Result:
    return Result(run_id="r", task_id="fix-allocate-remainder", task_hash="h", system=SystemSpec(name=system),
                  outcome=outcome, tests=tests, started_at=now_utc(), finished_at=now_utc())


def statuses(task, f2p: TestStatus, p2p: TestStatus) -> dict[str, TestStatus]:
    return {**{t: f2p for t in task.task.success.fail_to_pass}, **{t: p2p for t in task.task.success.pass_to_pass}}


def evaluations(task, runs: int, noop_f2p=F, noop_p2p=P, gold_f2p=P, gold_p2p=P) -> Evaluations:
    def outcome(f2p, p2p):
        return Outcome.passed if f2p is P and p2p is P else Outcome.failed
    return Evaluations(
        gold=[result("gold", outcome(gold_f2p, gold_p2p), statuses(task, gold_f2p, gold_p2p))] * runs,
        noop=[result("noop", outcome(noop_f2p, noop_p2p), statuses(task, noop_f2p, noop_p2p))] * runs)


def test_a_sound_task_is_valid(task):
    found = judge(task, evaluations(task, 3), [], 3)
    assert (found.verdict, found.gold_passed, found.noop_failed, found.fail_to_pass_ok) == ("valid", 3, 3, 3)


def test_a_pass_to_pass_test_failing_before_the_change_is_invalid(task):
    found = judge(task, evaluations(task, 2, noop_p2p=F), [], 2)
    assert found.verdict == "invalid" and found.pass_to_pass_ok == 0
    assert found.reason.startswith("pass_to_pass test does not pass before the change: tests/")


def test_a_fail_to_pass_test_passing_before_the_change_is_invalid(task):
    found = evaluations(task, 2)
    first = task.task.success.fail_to_pass[0]
    for row in found.noop:
        row.tests = {**row.tests, first: P}
    verdict = judge(task, found, [], 2)
    assert verdict.verdict == "invalid" and verdict.fail_to_pass_ok == 0
    assert verdict.reason == f"fail_to_pass test passes before the change: {first}"


def test_gold_passing_some_runs_only_is_flaky(task):
    found = evaluations(task, 3)
    found.gold = [found.gold[0], result("gold", Outcome.failed, statuses(task, F, P)), found.gold[0]]
    verdict = judge(task, found, [], 3)
    assert verdict.verdict == "flaky" and verdict.reason.startswith("gold passed 2 of 3")


def test_problems_found_before_evaluating_decide_first(task):
    verdict = judge(task, evaluations(task, 2), ["hidden test x is visible in the workspace as y"], 2)
    assert (verdict.verdict, verdict.reason) == ("invalid", "hidden test x is visible in the workspace as y")


def test_an_infrastructure_failure_is_not_valid(task):
    found = evaluations(task, 1)
    found.noop = [result("noop", Outcome.infra_error, {})]
    found.noop[0].reason = "container engine error: gone"
    verdict = judge(task, found, [], 1)
    assert verdict.verdict == "invalid" and "could not be evaluated: container engine error" in verdict.reason
