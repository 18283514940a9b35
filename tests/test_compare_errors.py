"""`resq compare` is honest about errors: a task that ended in system_error or infra_error (or has no result) in
either run is "not comparable", listed apart and never a regression; exit 1 only for regressions among the tasks
graded in both runs, else 3 when something was not comparable. A `--task` run of a suite is the same suite."""

from __future__ import annotations

import json
from datetime import timedelta

from conftest import resq
from reports_helpers import T0, make_run
from resq_runner.models import Outcome

P, F, SE, IE = Outcome.passed, Outcome.failed, Outcome.system_error, Outcome.infra_error


def flat(text: str) -> str:
    return " ".join(text.split())


def test_errors_are_not_comparable_and_exit_3(tmp_path):
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": P, "t3": P, "t4": F})
    b = make_run(tmp_path / "b", "llm", {"t1": P, "t2": SE, "t3": IE, "t4": F}, started_at=T0 + timedelta(days=1))
    proc = resq("compare", str(a), str(b))
    assert proc.returncode == 3, proc.stderr
    assert "regression:" not in proc.stderr
    assert "not comparable: 2 task(s)" in flat(proc.stderr)
    apart = proc.stdout[proc.stdout.index("not comparable (an error"):]
    assert "t2" in apart and "system_error" in apart and "t3" in apart and "infra_error" in apart
    comparison = json.loads(resq("compare", str(a), str(b), "--json").stdout)
    assert {t["task_id"]: t["changes"][0] for t in comparison["tasks"]} == {
        "t1": "still passing", "t2": "not comparable", "t3": "not comparable", "t4": "still failing"}
    (pair,) = comparison["pairs"]
    assert (pair["tasks"], pair["broken"], pair["not_comparable"]) == (2, 0, 2)


def test_a_regression_among_graded_tasks_still_exits_1(tmp_path):
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": P})
    b = make_run(tmp_path / "b", "llm", {"t1": F, "t2": SE})
    proc = resq("compare", str(a), str(b))
    assert proc.returncode == 1 and "regression: 1 task(s)" in flat(proc.stderr)


def test_a_stopped_run_has_tasks_without_result(tmp_path):
    """A run that stopped early (refused credentials) planned every task but finished one: the rest have no
    result, which is not comparable rather than a different task set."""
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": P, "t3": F})
    b = make_run(tmp_path / "b", "llm", {"t1": SE}, task_ids=["t1", "t2", "t3"])
    proc = resq("compare", str(a), str(b))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "DIFFERENT TASK SETS" not in proc.stdout
    assert "not comparable: 3 task(s)" in flat(proc.stderr) and "no result" in proc.stdout


def test_a_task_subset_of_the_same_suite_is_the_same_suite(tmp_path):
    a = make_run(tmp_path / "a", "noop", {"t1": F, "t2": F, "t3": P}, suite_hash="all-three")
    b = make_run(tmp_path / "b", "noop", {"t3": P}, suite_hash="only-t3")  # `resq run SUITE --task t3`
    proc = resq("compare", str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    assert "DIFFERENT SUITE VERSIONS" not in proc.stdout and "DIFFERENT TASK SETS" in proc.stdout
    changed = make_run(tmp_path / "c", "noop", {"t3": P}, suite_hash="only-t3", task_hashes={"t3": "edited"})
    assert "DIFFERENT SUITE VERSIONS" in flat(resq("compare", str(a), str(changed)).stdout)
