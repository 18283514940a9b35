"""tasks/js: well-formed records over real JavaScript libraries from Debian packages, and a clean lint.
(One of its tasks is validated in real containers by tests/test_validate.py; the whole suite by the README's command.)"""

from __future__ import annotations

import re

import pytest

from conftest import PROJECT, resq
from resq_runner.tasks import gold_patch, hidden_files, load_suite

pytestmark = pytest.mark.slow

SUITE = PROJECT / "tasks" / "js"
KINDS = {"bugfix", "feature", "refactor"}
DIFFICULTIES = {"easy", "medium", "hard"}
TASKS = load_suite(SUITE)


def files_in(patch: str) -> set[str]:
    return set(re.findall(r"^diff --git a/(\S+) b/", patch, re.M))


def test_the_suite_has_enough_tasks_over_enough_libraries():
    assert len(TASKS) >= 5
    assert len({tf.task.source["library"] for tf in TASKS}) >= 2
    assert any(len(files_in(gold_patch(tf))) >= 2 for tf in TASKS)


@pytest.mark.parametrize("tf", TASKS, ids=lambda tf: tf.task.id)
def test_task_record(tf):
    task = tf.task
    assert task.snapshot.kind == "deb" and task.snapshot.package == "node-" + task.source["library"]
    assert task.snapshot.version in task.source["version"] and task.source["origin"]
    assert task.environment.name == "node" and task.tests.framework == "node"
    assert len([t for t in task.tags if t in KINDS]) == 1
    assert len([t for t in task.tags if t in DIFFICULTIES]) == 1
    assert f"files:{len(files_in(gold_patch(tf)))}" in task.tags
    hidden = hidden_files(tf)
    assert hidden and all(name.startswith("test/") and name.endswith(".test.js") for name in hidden)
    assert task.success.fail_to_pass and task.success.pass_to_pass
    assert all(t.split("::")[0] in hidden for t in task.success.fail_to_pass + task.success.pass_to_pass)
    assert "node:test" not in task.instruction and "assert." not in task.instruction


def test_the_suite_lints_clean():
    proc = resq("tasks", "lint", str(SUITE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
