"""The scheduling policy in-process, with a fake pipeline (no Docker): challenge chains, retries, backoff, and the
errors that stop a run. The local executor is the real one; only the per-task pipeline is scripted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from resq_runner.errors import TaskError
from resq_runner.models import Challenge, ImageRef, Outcome, Result, SystemSpec, Task, TaskFolder, now_utc
from resq_runner.pipeline import Pipeline
from resq_runner.runner import LocalExecutor
from resq_runner.scheduling import Batch, PartGate, RetryPolicy

ENVS = {"python": ImageRef(tag="resq-env-python:fake", id="sha256:fake")}
FAST = RetryPolicy(retries=2, backoff_base_s=0.01, backoff_max_s=0.02)


def part(task_id: str, *after: str) -> TaskFolder:
    task = Task(id=task_id, kind="challenge", instruction="add",
                challenge=Challenge(expected="1", after=list(after)))
    return TaskFolder(task=task, root=Path("/nonexistent") / task_id, suite="fake")


class FakePipeline:
    """Outcomes scripted per task id (one per attempt; the last repeats), or an exception to raise."""

    client = None
    run_id, spec = "fake-run", SystemSpec(name="fake")
    limits, paths, oracle_context, budget = None, None, False, None

    def __init__(self, script: dict[str, list[Outcome] | Exception]):
        self.script, self.calls = script, []
        self.lock = threading.Lock()

    def run_within_budget(self, tf, environment, attempt, stop, sample=0) -> Result:
        with self.lock:
            self.calls.append((tf.task.id, attempt))
        planned = self.script.get(tf.task.id, [Outcome.passed])
        if isinstance(planned, Exception):
            raise planned
        return self._row(tf, sample, attempt, planned[min(attempt, len(planned)) - 1])

    def interrupted(self, tf, attempt, sample) -> Result:
        return self._row(tf, sample, attempt, Outcome.infra_error)

    def blocked_result(self, tf, sample, earlier, outcome) -> Result:
        return Pipeline.blocked_result(self, tf, sample, earlier, outcome)  # the real row, from the real verdict

    def abort(self) -> None:
        pass

    def _row(self, tf, sample, attempt, outcome) -> Result:
        return Result(run_id=self.run_id, task_id=tf.task.id, task_hash="fake", system=self.spec, sample=sample,
                      attempt=attempt, outcome=outcome, started_at=now_utc(), finished_at=now_utc())


def run(todo: list[TaskFolder], script, earlier=None, jobs: int = 2) -> tuple[list[Result], FakePipeline]:
    pipeline = FakePipeline(script)
    rows: list[Result] = []
    batch = Batch(pipeline, [(tf, 0) for tf in todo], ENVS, earlier or {}, FAST, jobs=jobs, grace_s=1)
    LocalExecutor(lambda _text: None).run(batch, rows.append)
    return rows, pipeline


def final(rows: list[Result]) -> dict[str, str]:
    return {row.task_id: row.outcome.value for row in rows}


@pytest.fixture(autouse=True)
def fake_task_hash(monkeypatch):
    monkeypatch.setattr("resq_runner.pipeline.task_hash", lambda tf: "fake")  # the fake tasks have no folder


def test_out_of_order_chain_with_a_failing_first_part_gives_one_row_per_part():
    rows, pipeline = run([part("p3", "p2"), part("p2", "p1"), part("p1")], {"p1": [Outcome.failed]})
    assert len(rows) == 3
    assert final(rows) == {"p1": "failed", "p2": "failed", "p3": "failed"}
    assert [row.challenge.status for row in rows if row.task_id != "p1"] == ["blocked", "blocked"]
    assert pipeline.calls == [("p1", 1)]  # the later parts were never shown to the system


def test_a_passing_chain_runs_in_dependency_order():
    rows, pipeline = run([part("p3", "p2"), part("p2", "p1"), part("p1")], {})
    assert final(rows) == {"p1": "passed", "p2": "passed", "p3": "passed"}
    assert [task for task, _ in pipeline.calls] == ["p1", "p2", "p3"]


def test_an_earlier_part_that_stays_infra_error_blocks_the_rest_as_infra_error():
    rows, pipeline = run([part("p2", "p1"), part("p1")], {"p1": [Outcome.infra_error]})
    assert [(row.task_id, row.outcome.value) for row in rows] == \
        [("p1", "infra_error")] * 3 + [("p2", "infra_error")]
    assert pipeline.calls == [("p1", 1), ("p1", 2), ("p1", 3)]  # retries=2: three attempts in all


def test_an_earlier_part_passed_in_an_earlier_run_releases_the_next():
    rows, pipeline = run([part("p2", "p1")], {}, earlier={("p1", 0): Outcome.passed})
    assert final(rows) == {"p2": "passed"}


def test_an_earlier_part_outside_the_run_blocks_with_not_run():
    rows, _ = run([part("p2", "p1")], {})
    assert final(rows) == {"p2": "failed"} and "not run" in rows[0].reason


def test_infra_errors_are_retried_then_the_first_final_row_stands():
    rows, pipeline = run([part("a")], {"a": [Outcome.infra_error, Outcome.passed]})
    assert [row.outcome.value for row in rows] == ["infra_error", "passed"]
    assert pipeline.calls == [("a", 1), ("a", 2)]


def test_a_task_error_stops_the_run_and_is_never_retried():
    with pytest.raises(TaskError, match="sha256"):
        run([part("a"), part("b")], {"a": TaskError("tasks/x/a/task.yaml: sha256 differs; fix snapshot.sha256")},
            jobs=1)


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy()
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


def test_backoff_is_cut_short_by_a_stop():
    stop = threading.Event()
    stop.set()
    assert RetryPolicy(backoff_base_s=3600, backoff_max_s=3600).wait(1, stop) is False


def test_policy_run_retries_in_the_calling_thread():
    outcomes = iter([Outcome.infra_error, Outcome.infra_error, Outcome.failed])
    fake = FakePipeline({})
    result = FAST.run(lambda attempt: fake._row(part("a"), 0, attempt, next(outcomes)), threading.Event())
    assert (result.attempt, result.outcome) == (3, Outcome.failed)


def test_gate_releases_until_nothing_changes():
    todo = [(part("d", "c"), 0), (part("c", "b"), 0), (part("b", "a"), 0), (part("a"), 0)]
    gate = PartGate(todo)
    fake = FakePipeline({})
    gate.record(fake._row(part("a"), 0, 1, Outcome.timed_out))
    ready, blocked = gate.release(lambda tf, sample, earlier, state: fake._row(tf, sample, 1, Outcome.failed))
    assert ready == [] and sorted(row.task_id for row in blocked) == ["b", "c", "d"]
