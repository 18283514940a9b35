"""Authoring: `resq tasks new | gold | lint` on real folders and real git repositories (no Docker here)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import yaml

from resq_runner.tasks.lint import instruction_leaks, unified_diff_problems

from conftest import resq

ALLOCATE_TEST = "tests/test_allocate_hidden.py"


def edit_yaml(task_dir: Path, **changes) -> None:
    file = task_dir / "task.yaml"
    data = yaml.safe_load(file.read_text())
    data.update(changes)
    file.write_text(yaml.safe_dump(data, sort_keys=False))


def test_lint_passes_a_sound_suite(demo_copy):
    proc = resq("tasks", "lint", str(demo_copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no problems found" in proc.stdout


def test_lint_lists_every_problem_of_every_task(demo_copy):
    shutil.copytree(demo_copy / "fix-allocate-remainder", demo_copy / "allocate-copy")  # keeps id fix-allocate-...
    (demo_copy / "fix-allocate-remainder" / "gold.patch").write_text("this is not a diff\n")
    edit_yaml(demo_copy / "add-invoice-discount", colour="red")
    grouped = demo_copy / "parse-grouped-amounts"
    edit_yaml(grouped, success={"fail_to_pass": ["tests/test_nowhere.py::test_x"], "pass_to_pass": []})
    (grouped / "hidden" / "tests" / "test_parse_hidden.py").unlink()
    (demo_copy / "no-task-file").mkdir()

    proc = resq("tasks", "lint", str(demo_copy))
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1
    assert "fix-allocate-remainder/gold.patch: line 1 is not part of a unified diff" in out
    assert "add-invoice-discount/task.yaml: field 'colour': Extra inputs are not permitted" in out
    assert "success.fail_to_pass: 'tests/test_nowhere.py::test_x' names tests/test_nowhere.py" in out
    assert "allocate-copy/task.yaml: id 'fix-allocate-remainder' differs from its folder name" in out
    assert "duplicate task id 'fix-allocate-remainder'" in out
    assert "no-task-file/task.yaml: missing task.yaml" in out
    assert "6 problem(s) in 5 task(s)" in out


def test_lint_finds_a_gold_patch_that_does_not_apply_and_a_leaking_instruction(demo_copy):
    task = demo_copy / "fix-allocate-remainder"
    patch = (task / "gold.patch").read_text().replace("-        parts = []\n", "-        parts = {}\n")
    (task / "gold.patch").write_text(patch)
    hidden_line = next(line for line in (task / "hidden" / ALLOCATE_TEST).read_text().splitlines()
                       if "assert" in line and len(line.strip()) > 30)
    data = yaml.safe_load((task / "task.yaml").read_text())
    edit_yaml(task, instruction=data["instruction"] + "\nFor example:\n" + hidden_line + "\n")

    proc = resq("tasks", "lint", str(demo_copy))
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1
    assert "fix-allocate-remainder/gold.patch: does not apply to the snapshot" in out
    assert f"instruction quotes the hidden test {ALLOCATE_TEST}" in out


def test_unified_diff_problems_checks_hunk_lengths():
    good = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    assert unified_diff_problems(good) == []
    short = "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n"
    assert any("wrong number of lines" in p for p in unified_diff_problems(short))
    assert unified_diff_problems("") and "is empty" in unified_diff_problems("")[0]
    git_new_file = ("diff --git a/n.txt b/n.txt\nnew file mode 100644\nindex 0000000..e69de29\n")
    assert unified_diff_problems(git_new_file) == []


def test_instruction_leaks_ignore_short_and_import_lines():
    hidden = {"tests/test_x.py": b"import pytest\nfrom decimal import Decimal\n\n"
                                 b"    assert parse_amount('1,234.56') == Decimal('1234.56')\n    x = 1\n"}
    assert instruction_leaks("Use `from decimal import Decimal`; x = 1", hidden) == []
    leaks = instruction_leaks("Make sure that assert parse_amount('1,234.56') == Decimal('1234.56') holds", hidden)
    assert leaks == [("tests/test_x.py", "assert parse_amount('1,234.56') == Decimal('1234.56')")]


def test_new_then_gold_round_trip(tmp_path):
    suite = tmp_path / "mine"
    snapshot = suite / "_snapshots" / "ledgerlite"
    shutil.copytree(Path(__file__).resolve().parents[1] / "tasks" / "demo" / "_snapshots" / "ledgerlite", snapshot)

    proc = resq("tasks", "new", str(suite), "round-trip", "--snapshot", f"dir:{snapshot}")
    assert proc.returncode == 0, proc.stderr
    task = suite / "round-trip"
    data = yaml.safe_load((task / "task.yaml").read_text())
    assert data["snapshot"] == {"kind": "dir", "path": "../_snapshots/ledgerlite"}
    assert (task / "hidden").is_dir() and (task / "gold.patch").read_text() == ""
    assert "# instruction:" in (task / "task.yaml").read_text()  # every field is explained
    work = task / ".work"
    assert subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=work, capture_output=True,
                          text=True).stdout.strip() == "1"

    money = work / "ledgerlite" / "money.py"
    money.write_text(money.read_text().replace("parts = []", "parts: list = []"))
    (work / "ledgerlite" / "extra.py").write_text("VALUE = 1\n")
    assert (task / "hidden" / "tests").is_dir()  # the snapshot's own test layout
    assert data["tests"]["command"] == "python -m pytest -p no:cacheprovider -q tests"
    (task / "hidden" / "tests" / "test_extra_hidden.py").write_text("def test_extra():\n    assert True\n")
    shutil.copytree(task / "hidden" / "tests", work / "tests", dirs_exist_ok=True)  # the author tries them out

    proc = resq("tasks", "gold", f"{suite}/round-trip")
    assert proc.returncode == 0, proc.stderr
    patch = (task / "gold.patch").read_text()
    assert "ledgerlite/money.py" in patch and "ledgerlite/extra.py" in patch
    assert "test_extra_hidden.py" not in patch  # hidden tests never go into the gold patch
    fresh = tmp_path / "fresh"
    shutil.copytree(snapshot, fresh)
    subprocess.run(["git", "init", "-q"], cwd=fresh, check=True)
    subprocess.run(["git", "apply", "--check", str(task / "gold.patch")], cwd=fresh, check=True)

    lint = resq("tasks", "lint", str(suite))
    assert "instruction still has the scaffold's TODO" in lint.stdout
    assert "gold.patch" not in lint.stdout  # the recorded patch parses and applies


def test_new_refuses_bad_specs_with_one_line(tmp_path):
    proc = resq("tasks", "new", str(tmp_path / "s"), "t", "--snapshot", "svn:whatever")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown kind 'svn'" in proc.stderr
    proc = resq("tasks", "new", str(tmp_path / "s"), "t", "--snapshot", "pypi:xmltodict")
    assert proc.returncode == 2 and "pypi:xmltodict==VERSION" in proc.stderr
    assert "available: " in proc.stderr and "1.0.4" in proc.stderr  # the index's versions, newest first
    proc = resq("tasks", "new", str(tmp_path / "s"), "t", "--snapshot", "pypi:xmltodict==0.0.999")
    assert proc.returncode == 2 and "cannot download" in proc.stderr and "1.0.4" in proc.stderr
    proc = resq("tasks", "new", str(tmp_path / "s"), "t", "--snapshot", f"dir:{tmp_path / 'missing'}")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_new_from_pypi_records_the_sdist_hash(tmp_path):
    from resq_runner.tasks.snapshots import fetch_sdist

    proc = resq("tasks", "new", str(tmp_path / "py"), "from-pypi", "--snapshot", "pypi:xmltodict==1.0.4")
    assert proc.returncode == 0, proc.stderr
    task = tmp_path / "py" / "from-pypi"
    snapshot = yaml.safe_load((task / "task.yaml").read_text())["snapshot"]
    sdist = fetch_sdist("xmltodict", "1.0.4", None)
    assert snapshot == {"kind": "pypi", "name": "xmltodict", "version": "1.0.4",
                        "sha256": hashlib.sha256(sdist.read_bytes()).hexdigest()}
    assert (task / ".work" / "xmltodict.py").is_file()


def test_new_from_a_git_commit_checks_out_that_commit_alone(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    (origin / "lib.py").write_text("VERSION = 1\n")
    subprocess.run(["git", "init", "-q"], cwd=origin, check=True)
    subprocess.run([*git, "add", "-A"], cwd=origin, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=origin, check=True)
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=origin, capture_output=True, text=True).stdout.strip()
    (origin / "lib.py").write_text("VERSION = 2  # the solution, later in history\n")
    subprocess.run([*git, "commit", "-qam", "two"], cwd=origin, check=True)

    proc = resq("tasks", "new", str(tmp_path / "s"), "from-git", "--snapshot", f"git:{origin}@{first}")
    assert proc.returncode == 0, proc.stderr
    work = tmp_path / "s" / "from-git" / ".work"
    assert (work / "lib.py").read_text() == "VERSION = 1\n"
    log = subprocess.run(["git", "log", "--all", "--format=%s"], cwd=work, capture_output=True, text=True).stdout
    assert log.splitlines() == ["snapshot"]  # no later history to leak the solution


def test_new_scaffolds_the_snapshots_own_test_folder(tmp_path):
    suite = tmp_path / "mine"
    snapshot = suite / "_snapshots" / "lib"
    (snapshot / "lib" / "test").mkdir(parents=True)  # tests inside the package, in a folder named test
    (snapshot / "lib" / "__init__.py").write_text("VALUE = 1\n")
    (snapshot / "lib" / "test" / "test_value.py").write_text("def test_value():\n    pass\n")
    proc = resq("tasks", "new", str(suite), "nested", "--snapshot", f"dir:{snapshot}")
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((suite / "nested" / "task.yaml").read_text())
    assert data["tests"]["command"] == "python -m pytest -p no:cacheprovider -q lib/test"
    assert (suite / "nested" / "hidden" / "lib" / "test").is_dir()
