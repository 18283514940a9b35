"""Errors are classified where they arise: a task's own error (a snapshot whose sha256 differs, a setup command
that fails) is one `error:` line naming the task and the fix, exit 2, never an infra_error row and never retried;
infra_error is only the engine failing under a task (tests/test_reliability_faults.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import DEMO, PROJECT, resq
from resq_runner.errors import TaskError
from resq_runner.grading.evaluate import _test_script
from resq_runner.tasks import load_suite


def rows(out: Path) -> list[dict]:
    results = out / "results.jsonl"
    return [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []


def edit_task(task_yaml: Path, **changes) -> None:
    data = yaml.safe_load(task_yaml.read_text())
    data.update(changes)
    task_yaml.write_text(yaml.safe_dump(data, sort_keys=False))


def assert_one_error_line(proc, *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in errors[0], errors[0]


@pytest.mark.docker
def test_snapshot_sha256_mismatch_is_one_error_line_and_no_infra_row(tmp_path, docker_client):
    suite = tmp_path / "py"
    shutil.copytree(PROJECT / "tasks" / "py" / "bl-dictutils-union", suite / "bl-dictutils-union")
    task_yaml = suite / "bl-dictutils-union" / "task.yaml"
    snapshot = yaml.safe_load(task_yaml.read_text())["snapshot"]
    edit_task(task_yaml, snapshot={**snapshot, "sha256": "0" * 64})
    proc = resq("run", str(suite), "--system", "noop", "--out", str(tmp_path / "out"))
    assert_one_error_line(proc, str(task_yaml), "sha256", "fix snapshot.sha256")
    assert [r for r in rows(tmp_path / "out") if r["outcome"] == "infra_error"] == []


@pytest.mark.docker
def test_setup_command_that_fails_is_one_error_line_naming_the_task(tmp_path, docker_client):
    suite = tmp_path / "demo"
    shutil.copytree(DEMO, suite)
    task_yaml = suite / "fix-allocate-remainder" / "task.yaml"
    edit_task(task_yaml, setup=["echo resq-setup-that-fails && exit 3"])
    proc = resq("run", str(suite), "--system", "noop", "--task", "fix-allocate-remainder",
                "--out", str(tmp_path / "out"))
    assert_one_error_line(proc, str(task_yaml), "setup")
    assert rows(tmp_path / "out") == []


def test_a_test_script_missing_from_hidden_is_a_task_error_naming_the_fix(tmp_path):
    suite = tmp_path / "demo"
    shutil.copytree(DEMO, suite)
    tf = next(tf for tf in load_suite(str(suite)) if tf.task.id == "fix-allocate-remainder")
    tf = tf.model_copy(update={"task": tf.task.model_copy(update={"tests": tf.task.tests.model_copy(
        update={"framework": "script", "script": "run_tests.py", "command": "python {script}"})})})
    with pytest.raises(TaskError, match=r"task\.yaml: tests\.script names run_tests\.py.*add it there"):
        _test_script(tf, {})
