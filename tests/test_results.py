"""The results journal: append-only, fsynced rows, torn tails, clear errors."""

import json

import pytest

from resq_runner.errors import ResqError
from resq_runner.models import Outcome, Result, SystemSpec, now_utc
from resq_runner.results import Journal, final_results, read_results


def row(task_id: str, outcome: Outcome = Outcome.passed) -> Result:
    return Result(run_id="r", task_id=task_id, task_hash="h", system=SystemSpec(name="gold"), outcome=outcome,
                  started_at=now_utc(), finished_at=now_utc())


def test_rows_round_trip(tmp_path):
    journal = Journal(tmp_path / "results.jsonl")
    journal.append(row("a"))
    journal.append(row("b", Outcome.failed))
    assert [(r.task_id, r.outcome) for r in read_results(tmp_path / "results.jsonl")] == [
        ("a", Outcome.passed), ("b", Outcome.failed)]


def test_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "results.jsonl"
    Journal(path).append(row("a"))
    with open(path, "a") as out:
        out.write(row("b").model_dump_json()[:40])  # a crash mid-write
    assert [r.task_id for r in read_results(path)] == ["a"]
    Journal(path).append(row("c"))
    assert [r.task_id for r in read_results(path)] == ["a", "c"]


def test_a_bad_line_in_the_middle_names_file_and_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(row("a").model_dump_json() + "\n{not json\n" + row("b").model_dump_json() + "\n")
    with pytest.raises(ResqError, match=r"results.jsonl:2: not a JSON line"):
        read_results(path)


def test_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    data = json.loads(row("a").model_dump_json())
    data["schema_version"] = 99
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(ResqError, match="schema version 99"):
        read_results(path)


def test_infra_errors_are_not_final():
    rows = [row("a", Outcome.infra_error), row("b"), row("a", Outcome.failed)]
    final = final_results(rows)
    assert final[("a", 0)].outcome is Outcome.failed
    assert set(final) == {("a", 0), ("b", 0)}
    assert ("c", 0) not in final_results([row("c", Outcome.infra_error)])
