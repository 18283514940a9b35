"""The second half of tasks/py (libraries n-z): well-formed task records, and one task graded for real."""

import re
import uuid
from pathlib import Path

import pytest

from conftest import PROJECT, resq
from resq_runner.models import Outcome, TestStatus
from resq_runner.results import read_results
from resq_runner.tasks import gold_patch, hidden_files, load_suite

pytestmark = pytest.mark.slow

SUITE = PROJECT / "tasks" / "py"
LIBRARIES = {"toolz", "tabulate", "parse", "xmltodict"}
KINDS = {"bugfix", "feature", "refactor"}
DIFFICULTIES = {"easy", "medium", "hard"}


def ours():
    return [tf for tf in load_suite(SUITE) if tf.task.source.get("library") in LIBRARIES]


def listed_sha256() -> dict[str, str]:
    """library -> sha256, from the table in LIBRARIES-B.md, so the record and the tasks cannot drift apart."""
    rows = re.findall(r"^\| (\S+) \| \S+ \| ([0-9a-f]{64}) \|", (SUITE / "LIBRARIES-B.md").read_text(), re.M)
    return dict(rows)


def runs_in(path: str, command: str) -> bool:
    """Whether the test command names the file or one of its folders."""
    words = command.split()
    return path in words or any(str(parent) in words for parent in Path(path).parents if str(parent) != ".")


def files_in(patch: str) -> set[str]:
    return set(re.findall(r"^diff --git a/(\S+) b/", patch, re.M))


def test_the_half_has_enough_tasks_libraries_and_multi_file_edits():
    tasks = ours()
    assert len(tasks) >= 12
    assert {tf.task.source["library"] for tf in tasks} == LIBRARIES
    multi_file = [tf for tf in tasks if len(files_in(gold_patch(tf))) >= 2]
    assert 3 * len(multi_file) >= len(tasks)
    assert all(tf.task.id.startswith(tf.task.source["library"] + "-") for tf in tasks)


@pytest.mark.parametrize("tf", ours(), ids=lambda tf: tf.task.id)
def test_task_record(tf):
    task, sha256 = tf.task, listed_sha256()
    assert task.snapshot.kind == "pypi"
    assert task.snapshot.name == task.source["library"] and task.snapshot.version == task.source["version"]
    assert task.snapshot.sha256 == sha256[task.snapshot.name]
    assert task.source["origin"] == "PyPI sdist"
    kinds = [t for t in task.tags if t in KINDS]
    assert len(kinds) == 1 and len([t for t in task.tags if t in DIFFICULTIES]) == 1
    assert f"files:{len(files_in(gold_patch(tf)))}" in task.tags
    hidden = set(hidden_files(tf))
    assert hidden and all(Path(path).name.startswith("test_resq_") for path in hidden)
    assert task.success.fail_to_pass and task.success.pass_to_pass
    assert {test.split("::")[0] for test in task.success.fail_to_pass} <= hidden
    library_tests = {test.split("::")[0] for test in task.success.pass_to_pass} - hidden
    assert library_tests, "PASS_TO_PASS must include the library's own tests"
    for path in library_tests | set(task.success.fail_to_pass):
        assert runs_in(path.split("::")[0], task.tests.command), f"{path} is not run by the test command"


def test_gold_passes_and_noop_fails_a_pypi_task(tmp_path, python_env, cleanup_run):
    task_id = "toolz-tail-zero"
    [tf] = [tf for tf in ours() if tf.task.id == task_id]
    rows = {}
    for system in ("gold", "noop"):
        out = tmp_path / f"corpus-b-{system}-{uuid.uuid4().hex[:8]}"
        cleanup_run.append(out.name)
        proc = resq("run", str(SUITE), "--system", system, "--task", task_id, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        [rows[system]] = read_results(out / "results.jsonl")
    assert rows["gold"].outcome is Outcome.passed
    assert rows["noop"].outcome is Outcome.failed
    for test in tf.task.success.fail_to_pass:
        assert rows["gold"].tests[test] is TestStatus.passed
        assert rows["noop"].tests[test] is TestStatus.failed
    for test in tf.task.success.pass_to_pass:
        assert rows["gold"].tests[test] is TestStatus.passed
        assert rows["noop"].tests[test] is TestStatus.passed
