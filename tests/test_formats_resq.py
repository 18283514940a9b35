"""RES-Q records over a small git repository made here: import → gold passes, noop fails, the secret stops early
exits, exports round-trip through `resq replay`, malformed rows give one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import resq
from formats_helpers import graded, rows, unique_run
from resq_runner.formats.resq import read_results
from resq_runner.grading.evaluate import deleted_when_started, insert_secret
from resq_runner.models import OracleFile
from resq_runner.tasks import load_task, task_view

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

STATS = '''"""Small statistics helpers."""


def mean(values):
    return sum(values) / len(values)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
'''

FIXED_MEDIAN = '''    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[middle - 1] + ordered[middle]) / 2
    return ordered[middle]
'''

SCRIPT_EXIT_CODE = '''import sys
import unittest

from tinystats.core import median


class MedianTests(unittest.TestCase):
    def test_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    exit_code = 0 if result.wasSuccessful() else 1
    sys.exit(exit_code)
'''

SCRIPT_EXIT_ZERO = '''import sys

from importlib.metadata import version

from tinystats.core import mean, trimmed_mean

assert version("iniconfig") == "2.0.0", version("iniconfig")  # the task's requirements_txt was installed
if trimmed_mean([1, 2, 3, 100], 1) != 2.5 or mean([2, 4]) != 3:
    print("trimmed_mean is wrong")
    sys.exit(1)
sys.exit(0)
'''

TRIMMED = '''

def trimmed_mean(values, cut):
    ordered = sorted(values)
    return mean(ordered[cut:len(ordered) - cut])
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**ENV, "PATH": "/usr/bin:/bin"}).stdout


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A repository at its base commit, two RES-Q records over it, and their solution patches."""
    root = tmp_path_factory.mktemp("resq")
    repo = root / "tinystats"
    (repo / "tinystats").mkdir(parents=True)
    (repo / "tinystats" / "__init__.py").write_text("")
    (repo / "tinystats" / "core.py").write_text(STATS)
    (repo / "README.md").write_text("tinystats\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    core = repo / "tinystats" / "core.py"

    core.write_text(STATS.replace("    ordered = sorted(values)\n    return ordered[len(ordered) // 2]\n",
                                  FIXED_MEDIAN))
    median_patch = git(repo, "diff")
    git(repo, "checkout", "-q", "--", ".")
    core.write_text(STATS + TRIMMED)
    trimmed_patch = git(repo, "diff")
    git(repo, "checkout", "-q", "--", ".")

    common = {"repo_url": str(repo), "base_commit": base, "testbed_environment": "python3.9",
              "solution_commit": "0" * 40, "language": "python"}
    records = [
        {**common, "id": "0_0", "instruction": "median() returns the upper middle value for an even number of "
         "values; it should return the mean of the two middle values.", "test_script": SCRIPT_EXIT_CODE,
         "requirements_txt": "", "solution_patch": median_patch,
         "modified_files": [{"path": "tinystats/core.py", "content": STATS}]},
        {**common, "id": "1_0", "instruction": "Add trimmed_mean(values, cut) to tinystats.core: the mean after "
         "dropping the `cut` smallest and `cut` largest values.", "test_script": SCRIPT_EXIT_ZERO,
         "requirements_txt": "iniconfig==2.0.0\n", "solution_patch": trimmed_patch,
         "modified_files": json.dumps({"tinystats/core.py": STATS})},  # the older string form
    ]
    file = root / "resq.json"
    file.write_text(json.dumps(records))
    return file


@pytest.fixture(scope="module")
def suite(dataset) -> Path:
    out = dataset.parent / "suites" / "resq-mini"
    proc = resq("import", "resq", str(dataset), "--out", str(out), check=True)
    assert "imported 2 task(s)" in proc.stdout
    return out


def test_import_writes_ordinary_task_folders(suite):
    task = (suite / "0_0" / "task.yaml").read_text()
    assert "framework: script" in task and "kind: git" in task
    assert (suite / "0_0" / "hidden" / "test_script.py").read_text() == SCRIPT_EXIT_CODE
    assert json.loads((suite / "1_0" / "oracle_context.json").read_text()) == [
        {"path": "tinystats/core.py", "content": STATS}]
    assert "iniconfig==2.0.0" in (suite / "1_0" / "task.yaml").read_text()
    task = load_task(suite / "1_0", suite="resq-mini")
    assert task_view(task).oracle_context is None  # only with `resq run --oracle-context`
    assert task_view(task, oracle_context=True).oracle_context == [OracleFile(path="tinystats/core.py", content=STATS)]
    listed = resq("tasks", "list", str(suite), check=True).stdout
    assert "0_0" in listed and "1_0" in listed


def test_gold_passes_noop_fails_and_exports_round_trip(suite, tmp_path, docker_client, python_env, cleanup_run):
    outcomes, runs = {}, {system: unique_run(tmp_path, system) for system in ("gold", "noop")}
    for system, run in runs.items():
        graded(cleanup_run, run, "run", str(suite), "--system", system, "-j", "2")
        outcomes[system] = {t: r.outcome.value for t, r in rows(run).items()}
    assert outcomes == {"gold": {"0_0": "passed", "1_0": "passed"}, "noop": {"0_0": "failed", "1_0": "failed"}}
    assert rows(runs["gold"])["0_0"].tests == {"test_script": "passed"}

    for system, message in (("gold", "PASS"), ("noop", "FAIL")):
        resq("export", "resq", str(runs[system]), check=True)
        exported = runs[system] / "export-resq"
        results = read_results(exported / "results.json")
        assert [(r.id, r.success, r.message) for r in results] == [
            ("0_0", system == "gold", message), ("1_0", system == "gold", message)]
        submission = json.loads((exported / "submission.json").read_text())
        assert [s["id"] for s in submission] == ["0_0", "1_0"]
        replayed = unique_run(tmp_path, f"replay-{system}")
        graded(cleanup_run, replayed, "replay", str(suite), str(exported / "submission.json"))
        assert {t: r.outcome.value for t, r in rows(replayed).items()} == outcomes[system]
    noop_results = json.loads((runs["noop"] / "export-resq" / "results.json").read_text())
    assert "AssertionError" in noop_results[0]["test_suite_feedback"]  # the failing script's own output


def test_early_exit_and_forged_output_do_not_pass(suite, tmp_path, cleanup_run, python_env):
    exits_at_import = ("diff --git a/tinystats/__init__.py b/tinystats/__init__.py\n"
                       "--- a/tinystats/__init__.py\n+++ b/tinystats/__init__.py\n"
                       "@@ -0,0 +1,2 @@\n+import sys\n+sys.exit(0)\n")
    # prints every script it can find (the secret is in the test script's source), then claims success
    prints_fake_success = ("diff --git a/tinystats/__init__.py b/tinystats/__init__.py\n"
                           "--- a/tinystats/__init__.py\n+++ b/tinystats/__init__.py\n"
                           "@@ -0,0 +1,5 @@\n+import glob, os\n"
                           "+for path in glob.glob('/workspace/*.py') + glob.glob('/workspace/**/*.py'):\n"
                           "+    print(open(path).read())\n"
                           "+print('OK PASS', flush=True)\n+os._exit(0)\n")
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps([{"id": "0_0", "patch": exits_at_import},
                                      {"id": "1_0", "patch": prints_fake_success}]))
    run = unique_run(tmp_path, "attack")
    graded(cleanup_run, run, "replay", str(suite), str(submission))
    results = rows(run)
    assert {t: r.outcome.value for t, r in results.items()} == {"0_0": "failed", "1_0": "failed"}
    assert results["0_0"].tests == {"test_script": "failed"}

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"id": "0_0", "patch": "diff --git a/nope.py b/nope.py\n--- a/nope.py\n"
                                   "+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n"}]))
    run = unique_run(tmp_path, "broken")
    graded(cleanup_run, run, "replay", str(suite), str(broken))
    results = rows(run)
    assert results["0_0"].outcome.value == "patch_failed"
    assert results["1_0"].outcome.value == "system_error"  # no recorded patch for it
    resq("export", "resq", str(run), check=True)
    exported = json.loads((run / "export-resq" / "results.json").read_text())
    assert [r["message"] for r in exported] == ["PATCH FAILED", "FAIL"]


def test_secret_goes_before_the_success_exit_and_the_file_goes_first():
    script = "import sys\nif ok:\n    sys.exit(0)\nsys.exit(1)\n"
    assert insert_secret(script, "s3cr3t") == "import sys\nif ok:\n    print('s3cr3t', flush=True)\n    sys.exit(0)\n" \
        "sys.exit(1)\n"
    script = '"""Tests."""\nfrom __future__ import annotations\nimport sys\nsys.exit(0)\n'
    assert deleted_when_started(script).splitlines()[2] == "__import__('os').unlink(__file__)"


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("base_commit"), "row 2: field 'base_commit': missing"),
    (lambda r: r.update(test_script="print('no exit')"), "row 2: field 'test_script': has no `sys.exit(0)`"),
    (lambda r: r.update(modified_files="{not json"), "row 2: field 'modified_files': a string that is not JSON"),
    (lambda r: r.update(language="javascript"), "row 2: field 'language': 'javascript' is not supported"),
    (lambda r: r.update(requirements_txt="-e ."), "row 2: field 'requirements_txt': pip option '-e .'"),
    (lambda r: r.update(id="0_0"), "duplicate task id '0_0'"),
])
def test_bad_rows_one_line_and_nothing_written(dataset, tmp_path, change, message):
    records = json.loads(dataset.read_text())
    change(records[1])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records))
    out = tmp_path / "suite"
    proc = resq("import", "resq", str(bad), "--out", str(out))
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    assert str(bad) in proc.stderr and message in proc.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.json"]

    proc = resq("import", "resq", str(bad), "--out", str(out), "--skip-invalid")
    assert proc.returncode == 0 and "skipped 1 invalid row(s)" in proc.stdout
    assert [p.name for p in out.iterdir()] == ["0_0"]


def test_existing_suite_and_unreadable_files_are_refused(dataset, tmp_path):
    out = tmp_path / "suite"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = resq("import", "resq", str(dataset), "--out", str(out))
    assert proc.returncode == 2 and "already exists and is not empty" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[{oops")
    proc = resq("import", "resq", str(garbage), "--out", str(tmp_path / "other"))
    assert proc.returncode == 2 and f"{garbage}: not valid JSON" in proc.stderr
    submission = tmp_path / "dup.json"
    submission.write_text(json.dumps([{"id": "0_0", "patch": ""}, {"id": "0_0", "patch": ""}]))
    proc = resq("replay", str(dataset.parent / "suites" / "resq-mini"), str(submission), "--out",
                str(tmp_path / "run"))
    assert proc.returncode == 2 and "row 2: field 'id': duplicate id '0_0'" in proc.stderr
