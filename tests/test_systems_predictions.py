"""The `predictions` system: SWE-bench-style rows graded like any patch; unknown, duplicate, missing and empty
predictions are messages and counted outcomes, bad JSON lines one error naming file:line."""

from __future__ import annotations

import json
import secrets

import pytest

from conftest import DEMO, resq
from resq_runner.errors import ResqError
from resq_runner.models import TaskView
from resq_runner.systems.predictions import PredictionsSystem, load_predictions

GOLD_ALLOCATE = (DEMO / "fix-allocate-remainder" / "gold.patch").read_text()


def _row(task: str, patch: str | None, model: str = "model-a") -> str:
    return json.dumps({"instance_id": task, "model_name_or_path": model, "model_patch": patch})


def _view(task: str) -> TaskView:
    return TaskView(id=task, kind="repo-edit", instruction="-")


def test_demo_run_counts_every_kind_of_prediction(tmp_path, cleanup_run):
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("\n".join([
        _row("fix-allocate-remainder", GOLD_ALLOCATE),
        _row("parse-grouped-amounts", ""),
        _row("ghost-task", GOLD_ALLOCATE),
        _row("fix-allocate-remainder", GOLD_ALLOCATE),  # the same patch again: graded once
    ]) + "\n")
    out = tmp_path / f"run-preds-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    proc = resq("run", str(DEMO), "--system", "predictions", "--predictions", str(predictions), "--out", str(out))
    assert proc.returncode == 0, proc.stderr

    rows = {r["task_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert {task: row["outcome"] for task, row in rows.items()} == {
        "fix-allocate-remainder": "passed", "parse-grouped-amounts": "failed", "add-invoice-discount": "system_error"}
    assert rows["add-invoice-discount"]["reason"] == f"no prediction for task add-invoice-discount in {predictions}"
    notes = (out / "system_notes.txt").read_text()
    assert f"{predictions}: 1 prediction(s) name no task of this suite and are ignored: ghost-task" in notes
    assert f"{predictions}: 2 identical predictions for task fix-allocate-remainder (lines 1, 4); graded once" in notes
    assert f"{predictions}:2: empty model_patch for task parse-grouped-amounts; graded as is" in notes
    assert "ghost-task" in proc.stderr  # shown while running, not only kept
    assert (out / "logs" / "fix-allocate-remainder" / "system.log").read_text() == \
        f"{predictions}:1 model_name_or_path=model-a"


def test_conflicting_duplicates_are_a_system_error_for_that_task(tmp_path):
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(_row("t1", "diff a\n") + "\n" + _row("t1", "diff b\n", model="model-b") + "\n")
    system = PredictionsSystem(predictions=str(predictions))
    assert system.prepare(["t1"]) == [
        f"{predictions}: 2 different predictions for task t1 in {predictions} (lines 1, 2); keep one "
        "(counted as system_error)"]
    output = system.solve(_view("t1"), workspace=None)
    assert output.error == f"2 different predictions for task t1 in {predictions} (lines 1, 2); keep one"


def test_json_list_and_swebench_dict_forms_load(tmp_path):
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([json.loads(_row("t1", "p1")), json.loads(_row("t2", None))], indent=2))
    as_dict = tmp_path / "dict.json"
    as_dict.write_text(json.dumps({"t1": {"model_patch": "p1", "model_name_or_path": "m"}}))
    assert [(n, r.instance_id, r.model_patch) for n, r in load_predictions(as_list)] == [(1, "t1", "p1"),
                                                                                         (2, "t2", None)]
    assert [(r.instance_id, r.model_patch) for _n, r in load_predictions(as_dict)] == [("t1", "p1")]
    single = tmp_path / "one.jsonl"
    single.write_text(_row("t1", "p1") + "\n")
    assert [r.instance_id for _n, r in load_predictions(single)] == ["t1"]


@pytest.mark.parametrize("bad_line, detail", [
    ('{"instance_id": "t2", "model_patch": ', "not a prediction row (Expecting value"),
    ('{"model_patch": "x"}', "not a prediction row (instance_id: Field required)"),
    ('["t2", "x"]', "not a prediction row (expected an object, got list)"),
])
def test_bad_json_line_names_file_and_line(tmp_path, bad_line, detail):
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(_row("t1", "p") + "\n\n" + bad_line + "\n")
    with pytest.raises(ResqError) as caught:
        load_predictions(predictions)
    assert str(caught.value).startswith(f"{predictions}:3: {detail}")


def test_bad_predictions_file_stops_the_run_before_anything_is_written(tmp_path):
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(_row("fix-allocate-remainder", "p") + "\n{not json\n")
    out = tmp_path / "never"
    proc = resq("run", str(DEMO), "--system", "predictions", "--predictions", str(predictions), "--out", str(out))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {predictions}:2: not a prediction row")
    assert "Traceback" not in proc.stderr
    assert not out.exists()
