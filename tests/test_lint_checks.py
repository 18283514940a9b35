"""`resq tasks lint` catches what would otherwise cost a container run or a wrong grade: test ids that name no test
(a static parse of the hidden files and the snapshot), test command paths that do not exist, selection options
that would hide the harness's canary (a warning), and broken template instances; every task kind lints clean."""

from __future__ import annotations

import shutil

import yaml

from conftest import DEMO, PROJECT, resq

HIDDEN = "tests/test_allocate_hidden.py"


def edit_yaml(task_dir, **changes) -> None:
    file = task_dir / "task.yaml"
    data = yaml.safe_load(file.read_text())
    data.update(changes)
    file.write_text(yaml.safe_dump(data, sort_keys=False))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_shipped_templates_and_challenges_lint_clean():
    proc = resq("tasks", "lint", "tasks/templates")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no problems found" in proc.stdout
    assert not list((PROJECT / "tasks" / "templates").glob(".*-lint-*"))  # rendered instances are cleaned up


def test_template_instances_are_linted(tmp_path):
    suite = tmp_path / "templates"
    suite.mkdir()
    shutil.copytree(PROJECT / "tasks" / "templates" / "paginate-last-page", suite / "paginate-last-page")
    task_yaml = suite / "paginate-last-page" / "task.yaml"
    data = yaml.safe_load(task_yaml.read_text())
    data["tests"]["command"] += " tests/nowhere_{{ " + next(iter(data["template"]["parameters"])) + " }}.py"
    task_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = resq("tasks", "lint", str(suite))
    out = flat(proc.stdout)
    assert proc.returncode == 1
    assert "paginate-last-page/task.yaml: instance paginate-last-page@" in out
    assert ": tests.command names 'tests/nowhere_" in out
    assert not list(suite.glob(".*"))


def test_mistyped_test_ids_and_missing_command_paths(demo_copy):
    task = demo_copy / "fix-allocate-remainder"
    data = yaml.safe_load((task / "task.yaml").read_text())
    wrong = ["tests/test_money.py::TestNope::test_a"]
    edit_yaml(task, success={"fail_to_pass": [f"{HIDDEN}::test_three_way_split_keeps_every_cen"],
                             "pass_to_pass": data["success"]["pass_to_pass"] + wrong})
    edit_yaml(demo_copy / "add-invoice-discount",
              tests={"command": "python -m pytest -p no:cacheprovider -q tests/test_nowhere tests"})
    proc = resq("tasks", "lint", str(demo_copy))
    out = flat(proc.stdout)
    assert proc.returncode == 1, out
    assert f"{HIDDEN} has no test 'test_three_way_split_keeps_every_cen'" in out
    assert "tests/test_money.py has no test 'TestNope'" in out
    assert "tests.command names 'tests/test_nowhere', which is neither in the hidden tests nor in the snapshot" in out
    assert "names 'tests', " not in out  # a folder both have is fine
    only = resq("tasks", "lint", str(demo_copy), "--task", "parse-grouped-amounts")
    assert only.returncode == 0 and "no problems found" in only.stdout
    unknown = resq("tasks", "lint", str(demo_copy), "--task", "nope")
    assert unknown.returncode == 2 and "no task named nope" in unknown.stderr


def test_parametrized_and_inherited_ids_are_accepted(demo_copy):
    task = demo_copy / "fix-allocate-remainder"
    (task / "hidden" / "tests" / "test_more_hidden.py").write_text(
        "import pytest\n\n\nclass Base:\n    def test_inherited(self):\n        pass\n\n\n"
        "class TestChild(Base):\n    pass\n\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_param(n):\n    pass\n")
    data = yaml.safe_load((task / "task.yaml").read_text())
    edit_yaml(task, success={"fail_to_pass": data["success"]["fail_to_pass"],
                             "pass_to_pass": ["tests/test_more_hidden.py::TestChild::test_inherited",
                                              "tests/test_more_hidden.py::test_param[1]"]})
    proc = resq("tasks", "lint", str(demo_copy), "--task", "fix-allocate-remainder")
    assert proc.returncode == 0, proc.stdout


def test_selecting_options_are_a_warning(demo_copy):
    edit_yaml(demo_copy / "parse-grouped-amounts",
              tests={"command": "python -m pytest -p no:cacheprovider -q tests -k 'parse or grouped' -m 'not slow'"})
    proc = resq("tasks", "lint", str(demo_copy))
    out = flat(proc.stdout)
    assert proc.returncode == 0, out  # informational: the harness keeps its canary selected
    assert "parse-grouped-amounts/task.yaml: warning: tests.command selects tests with -k" in out
    assert "selects tests with -m" in out and "no problems found, 2 warning(s)" in out


def test_new_with_a_missing_debian_version_lists_the_available_ones(tmp_path):
    proc = resq("tasks", "new", str(tmp_path / "js"), "t", "--snapshot", "deb:node-ms=0.0.0-nope")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "available: " in proc.stderr, proc.stderr


def test_the_demo_suite_stays_clean():
    assert resq("tasks", "lint", str(DEMO)).returncode == 0
