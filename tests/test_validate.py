"""`resq tasks validate` in real containers: deliberately broken tasks get the verdict they deserve, and a task of
the JavaScript corpus validates in the `node` environment."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, resq

BASE = "fix-allocate-remainder"
HIDDEN = "tests/test_allocate_hidden.py"


def clone_task(suite: Path, name: str, **changes) -> Path:
    """A copy of the demo's fix-allocate-remainder task under a new id, with task.yaml fields changed."""
    task = suite / name
    shutil.copytree(suite / BASE, task)
    data = yaml.safe_load((task / "task.yaml").read_text())
    data.update(id=name, **changes)
    (task / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return task


def verdicts(stdout: str) -> dict[str, str]:
    """`task: verdict[: reason]` lines printed after the table."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^([\w-]+): (valid|invalid|flaky)(?:: (.*))?$", line)
        if match:
            found[match.group(1)] = f"{match.group(2)}: {match.group(3) or ''}".strip(": ")
    return found


@pytest.fixture(scope="module")
def broken_suite(tmp_path_factory):
    """The demo suite's allocate task, valid as it is, plus one broken copy of it per way a task can be unsound."""
    suite = tmp_path_factory.mktemp("validate") / "broken"
    shutil.copytree(PROJECT / "tasks" / "demo", suite)
    for other in ("add-invoice-discount", "parse-grouped-amounts"):
        shutil.rmtree(suite / other)

    wrong = clone_task(suite, "gold-fails")  # a gold patch that applies but solves another problem
    (wrong / "gold.patch").write_text((PROJECT / "tasks/demo/parse-grouped-amounts/gold.patch").read_text())

    clone_task(suite, "noop-passes", tests={"command": "python -m pytest -p no:cacheprovider -q tests/test_money.py"},
               success={"fail_to_pass": [], "pass_to_pass": []})

    flaky = clone_task(suite, "flaky-test", success={"fail_to_pass": [], "pass_to_pass": []}, tests={
        "command": "python -m pytest -p no:cacheprovider -q tests/test_allocate_hidden.py tests/test_coin_hidden.py"})
    (flaky / "hidden" / "tests" / "test_coin_hidden.py").write_text(
        "import random\n\nimport pytest\n\n\n@pytest.mark.parametrize('flip', range(30))\n"
        "def test_coin(flip):\n    assert random.random() < 0.5\n")

    leaky_snapshot = suite / "_snapshots" / "leaky"
    shutil.copytree(suite / "_snapshots" / "ledgerlite", leaky_snapshot)
    shutil.copy(suite / BASE / "hidden" / HIDDEN, leaky_snapshot / "tests" / "test_copied_here.py")
    clone_task(suite, "hidden-test-leaked", snapshot={"kind": "dir", "path": "../_snapshots/leaky"})

    data = yaml.safe_load((suite / BASE / "task.yaml").read_text())
    clone_task(suite, "missing-test-id", success={
        "fail_to_pass": data["success"]["fail_to_pass"] + [f"{HIDDEN}::test_nobody_wrote_this"],
        "pass_to_pass": data["success"]["pass_to_pass"]})

    quoted = "assert amounts(parts) == [Decimal(\"34\"), Decimal(\"33\"), Decimal(\"33\")]"
    clone_task(suite, "instruction-quotes-test", instruction=data["instruction"] + f"\nFor example: {quoted}\n")

    clone_task(suite, "setup-fails", setup=["exit 3"])

    cannot_import = clone_task(suite, "tests-cannot-import")  # the reason must carry pytest's own complaint
    hidden_test = cannot_import / "hidden" / HIDDEN
    hidden_test.write_text("import nowhere_module_resq\n" + hidden_test.read_text())

    proc = resq("tasks", "validate", str(suite), "--runs", "2", "-j", "2", "--out", str(suite.parent / "logs"))
    return suite, proc


@pytest.mark.docker
def test_each_broken_task_gets_its_verdict(broken_suite):
    suite, proc = broken_suite
    found = verdicts(proc.stdout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert found[BASE] == "valid"
    assert found["gold-fails"].startswith("invalid: the gold patch fails: ")
    assert "test_three_way_split_keeps_every_cent" in found["gold-fails"]
    assert found["noop-passes"] == "invalid: noop passes: the hidden tests do not detect the missing change"
    assert found["flaky-test"].startswith("flaky: gold passed 0 of 2; test statuses differ between runs: ")
    assert found["hidden-test-leaked"] == (
        f"invalid: hidden test {HIDDEN} is visible in the workspace as tests/test_copied_here.py")
    assert found["missing-test-id"].startswith("invalid: lint: success.fail_to_pass: ")  # found before any run
    assert "has no test 'test_nobody_wrote_this'" in found["missing-test-id"]
    assert found["instruction-quotes-test"].startswith(f"invalid: lint: instruction quotes the hidden test {HIDDEN}")
    assert found["setup-fails"].startswith("invalid: the task image cannot be built: ")
    assert found["tests-cannot-import"].startswith("invalid: the gold patch fails: ")
    assert "(the test tool: E   ModuleNotFoundError: No module named 'nowhere_module_resq')" in \
        found["tests-cannot-import"]
    assert "1 of 9 task(s) valid" in proc.stdout


@pytest.mark.docker
def test_validate_keeps_the_logs_of_every_evaluation(broken_suite):
    suite, _proc = broken_suite
    logs = suite.parent / "logs"
    for system in ("gold", "noop"):
        for run in (1, 2):
            assert (logs / f"{system}-{run}" / "logs" / BASE / "report.xml").is_file()


@pytest.mark.docker
def test_a_javascript_task_validates_in_the_node_environment():
    proc = resq("tasks", "validate", "tasks/js", "--task", "ms-format-unit-boundaries", "--runs", "2", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert verdicts(proc.stdout) == {"ms-format-unit-boundaries": "valid"}


def test_validate_refuses_bad_input_with_one_line(demo_copy):
    proc = resq("tasks", "validate", str(demo_copy), "--task", "no-such-task")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "no task named no-such-task" in proc.stderr
