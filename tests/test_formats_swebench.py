"""SWE-bench instances over a local mirror made here: import → gold resolves, noop does not, predictions and the
report round-trip through `resq replay`; log-parser grading; plain `resq` never imports swebench; bad rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, resq
from formats_helpers import graded, rows, unique_run
from resq_runner.formats.swebench import _tests_spec, parity_disagreements
from resq_runner.models import RunManifest
from resq_runner.tasks import load_suite

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
       "PATH": "/usr/bin:/bin"}

SLUG = '''import re


def slugify(text, separator="-"):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return separator.join(words)
'''
SLUG_FIXED = SLUG.replace('text.lower())', 'text.lower().replace("\'", ""))')
OLD_TESTS = '''from slugs import slugify


def test_simple():
    assert slugify("Hello World") == "hello-world"
'''
NEW_TEST = '''

def test_apostrophes_are_dropped():
    assert slugify("Don't Panic") == "dont-panic"
'''


def git(repo: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=ENV,
                          input=input).stdout


def diff_of(repo: Path, path: str, content: str) -> str:
    original = (repo / path).read_text()
    (repo / path).write_text(content)
    patch = git(repo, "diff")
    (repo / path).write_text(original)
    return patch


@pytest.fixture(scope="module")
def instances(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("swebench")
    repo = root / "mirrors" / "acme__slugs"
    (repo / "tests").mkdir(parents=True)
    (repo / "slugs.py").write_text(SLUG)
    (repo / "tests" / "test_slugs.py").write_text(OLD_TESTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    gold = diff_of(repo, "slugs.py", SLUG_FIXED)
    test_patch = diff_of(repo, "tests/test_slugs.py", OLD_TESTS + NEW_TEST)
    row = {"instance_id": "acme__slugs-1", "repo": "acme/slugs", "base_commit": base, "patch": gold,
           "test_patch": test_patch, "problem_statement": "slugify(\"Don't Panic\") gives 'don-t-panic'; "
           "apostrophes should be dropped, giving 'dont-panic'.", "version": "1.0",
           "FAIL_TO_PASS": json.dumps(["tests/test_slugs.py::test_apostrophes_are_dropped"]),  # as on the Hub
           "PASS_TO_PASS": ["tests/test_slugs.py::test_simple"], "created_at": "2024-01-01T00:00:00Z"}
    logged = {**row, "instance_id": "acme__slugs-2", "log_parser": "parse_log_pytest",
              "test_cmd": "python -m pytest -p no:cacheprovider -rA"}
    file = root / "instances.jsonl"
    file.write_text(json.dumps(row) + "\n" + json.dumps(logged) + "\n")
    return file


@pytest.fixture(scope="module")
def suite(instances) -> Path:
    out = instances.parent / "suites" / "swe-mini"
    resq("import", "swebench", str(instances), "--repos", str(instances.parent / "mirrors"), "--out", str(out),
         check=True)
    return out


def test_test_patch_becomes_hidden_files(suite, instances):
    hidden = (suite / "acme__slugs-1" / "hidden" / "tests" / "test_slugs.py").read_text()
    assert hidden == OLD_TESTS + NEW_TEST
    task = (suite / "acme__slugs-1" / "task.yaml").read_text()
    assert "tests/test_slugs.py::test_apostrophes_are_dropped" in task and "framework" not in task.split("tests:")[0]
    assert str(instances.parent / "mirrors" / "acme__slugs") in task
    assert "log_parser: parse_log_pytest" in (suite / "acme__slugs-2" / "task.yaml").read_text()


def test_gold_resolves_noop_does_not_and_exports_round_trip(suite, tmp_path, docker_client, python_env,
                                                             cleanup_run):
    swebench_installed = subprocess.run([sys.executable, "-c", "import swebench"],
                                        capture_output=True).returncode == 0
    only = [] if swebench_installed else ["--task", "acme__slugs-1"]
    outcome, runs = {}, {system: unique_run(tmp_path, system) for system in ("gold", "noop")}
    for system, run in runs.items():
        graded(cleanup_run, run, "run", str(suite), "--system", system, "-j", "2", *only)
        outcome[system] = {t: r.outcome.value for t, r in rows(run).items()}
    ids = ["acme__slugs-1", "acme__slugs-2"] if swebench_installed else ["acme__slugs-1"]
    assert outcome == {"gold": dict.fromkeys(ids, "passed"), "noop": dict.fromkeys(ids, "failed")}
    gold = rows(runs["gold"])["acme__slugs-1"]
    assert gold.fail_to_pass == {"tests/test_slugs.py::test_apostrophes_are_dropped": "passed"}
    assert gold.pass_to_pass == {"tests/test_slugs.py::test_simple": "passed"}
    if swebench_installed:  # graded from the log by swebench's pytest parser
        assert rows(runs["noop"])["acme__slugs-2"].fail_to_pass == {
            "tests/test_slugs.py::test_apostrophes_are_dropped": "failed"}
        tasks = {tf.task.id: tf.task for tf in load_suite(suite)}
        disagreements = [line for run in runs.values() for task_id, result in rows(run).items()
                         for line in parity_disagreements(tasks[task_id], result, (
                             Path(result.log_dir) / "test_output.txt").read_text(errors="replace"))]
        assert disagreements == []  # swebench's own grading of the same output agrees, JUnit- and log-graded

    resq("export", "swebench", str(runs["gold"]), "--model", "acme/model-1", check=True)
    exported = runs["gold"] / "export-swebench"
    predictions = [json.loads(line) for line in (exported / "predictions.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in predictions] == ids
    assert {p["model_name_or_path"] for p in predictions} == {"acme/model-1"}
    assert "replace(\"'\", \"\")" in predictions[0]["model_patch"]
    (report_file,) = exported.glob("acme__model-1.*.json")
    report = json.loads(report_file.read_text())
    assert report["resolved_ids"] == ids and report["resolved_instances"] == len(ids)
    assert report["unresolved_ids"] == report["error_ids"] == report["empty_patch_ids"] == []
    assert report["schema_version"] == 2

    replayed = unique_run(tmp_path, "replayed")  # through the `predictions` system that reads SWE-bench files
    graded(cleanup_run, replayed, "run", str(suite), "--system", "predictions", "--predictions",
           str(exported / "predictions.jsonl"), *only)
    assert {t: r.outcome.value for t, r in rows(replayed).items()} == outcome["gold"]

    resq("export", "swebench", str(runs["noop"]), check=True)
    (noop_report,) = (runs["noop"] / "export-swebench").glob("noop.*.json")
    report = json.loads(noop_report.read_text())
    assert report["empty_patch_ids"] == ids and report["resolved_ids"] == [] and report["completed_instances"] == 0


def test_plain_resq_never_imports_swebench(suite, instances, tmp_path, python_env, cleanup_run):
    """Import, list, show, --help and a run of a JUnit-graded task in one process, then look at what got loaded."""
    out, run = tmp_path / "again", unique_run(tmp_path, "in-process")
    code = f"""
import sys
from resq_runner.cli import main
for args in (["--help"], ["tasks", "list", {str(suite)!r}], ["tasks", "show", {str(suite / 'acme__slugs-1')!r}],
             ["import", "swebench", {str(instances)!r}, "--repos", {str(instances.parent / 'mirrors')!r},
              "--out", {str(out)!r}],
             ["run", {str(suite)!r}, "--system", "gold", "--task", "acme__slugs-1", "--out", {str(run)!r}]):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), (args, exc.code)
print("LOADED:" + ",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("swebench", "datasets", "pandas"))))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    if (run / "run.json").exists():
        cleanup_run.append(RunManifest.model_validate_json((run / "run.json").read_text()).run_id)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED:\n" in proc.stdout, proc.stdout
    assert (out / "acme__slugs-1" / "task.yaml").exists()
    assert rows(run)["acme__slugs-1"].outcome.value == "passed"


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("test_patch"), "row 2: field 'test_patch': missing"),
    (lambda r: r.update(FAIL_TO_PASS="[oops"), "row 2: field 'FAIL_TO_PASS': a string that is not a JSON list"),
    (lambda r: r.update(FAIL_TO_PASS=[]), "row 2: field 'FAIL_TO_PASS': empty"),
    (lambda r: r.update(base_commit="f" * 40), "row 2: field 'base_commit': commit ffff"),
    (lambda r: r.update(repo="acme/elsewhere"), "row 2: field 'repo': no mirror of acme/elsewhere"),
    (lambda r: r.update(test_patch="just text"), "row 2: field 'test_patch': not a git diff"),
    (lambda r: r.update(test_patch=r["test_patch"].replace("def test_simple", "def test_other")),
     "row 2: field 'test_patch': does not apply to base_commit"),
])
def test_bad_rows_one_line_and_nothing_written(instances, tmp_path, change, message):
    good, second = [json.loads(line) for line in instances.read_text().splitlines()]
    change(second)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good) + "\n" + json.dumps(second) + "\n")
    out = tmp_path / "suite"
    args = ("import", "swebench", str(bad), "--repos", str(instances.parent / "mirrors"), "--out", str(out))
    proc = resq(*args)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"{bad}: {message}" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]
    proc = resq(*args, "--skip-invalid")
    assert proc.returncode == 0 and "skipped 1 invalid row(s)" in proc.stdout
    assert [p.name for p in out.iterdir()] == ["acme__slugs-1"]


def test_bad_json_lines_and_predictions(instances, suite, tmp_path):
    good = instances.read_text().splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n{truncated\n")
    proc = resq("import", "swebench", str(bad), "--repos", str(instances.parent / "mirrors"), "--out",
                str(tmp_path / "suite"))
    assert proc.returncode == 2 and f"{bad}: row 2: not a JSON line" in proc.stderr
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(json.dumps({"instance_id": "x", "model_name_or_path": "m", "model_patch": 5}) + "\n")
    proc = resq("replay", str(suite), str(predictions))
    assert proc.returncode == 2 and f"{predictions}: row 1: field 'model_patch'" in proc.stderr
    for command in (("export", "swebench"), ("export", "resq"), ("pecc-report",)):
        proc = resq(*command, str(tmp_path))
        assert proc.returncode == 2 and f"{tmp_path}: not a run folder" in proc.stderr, proc.stderr


def test_test_command_from_a_swebench_5_eval_script(tmp_path):
    def script(command: str) -> str:
        return ("#!/bin/bash\nset -uxo pipefail\nsource /opt/miniconda3/bin/activate\n"
                f": '>>>>> Start Test Output'\n{command}\n: '>>>>> End Test Output'\ngit checkout abc tests\n")

    pytest_row = {"eval_script": script("pytest -rA tests/test_slugs.py"), "log_parser": "parse_log_pytest"}
    assert _tests_spec(pytest_row, ["tests/test_slugs.py"], tmp_path, 1) == {
        "framework": "pytest", "command": "pytest -rA tests/test_slugs.py"}  # JUnit, not the forgeable log
    django = "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 queries.tests"
    django_row = {"eval_script": script(django), "log_parser": "parse_log_django"}
    assert _tests_spec(django_row, [], tmp_path, 1) == {"framework": "log", "log_parser": "parse_log_django",
                                                        "command": django}
    with pytest.raises(Exception, match="row 3: field 'log_parser': missing"):
        _tests_spec({"eval_script": script(django)}, [], tmp_path, 3)
    assert _tests_spec({}, ["a.py", "b.py"], tmp_path, 1) == {
        "framework": "pytest", "command": "python -m pytest -p no:cacheprovider -rA a.py b.py"}


def test_parquet_rows_import_like_jsonl(instances, tmp_path):
    pandas = pytest.importorskip("pandas")  # parquet needs pandas + pyarrow (both come with the swebench extra)
    pytest.importorskip("pyarrow")
    rows_ = [json.loads(line) for line in instances.read_text().splitlines()]
    for row in rows_:
        row["PASS_TO_PASS"] = json.dumps(row["PASS_TO_PASS"])  # the Hub's parquet stores JSON strings
    parquet = tmp_path / "instances.parquet"
    pandas.DataFrame(rows_).to_parquet(parquet)
    out = tmp_path / "suite"
    resq("import", "swebench", str(parquet), "--repos", str(instances.parent / "mirrors"), "--out", str(out),
         check=True)
    assert sorted(p.name for p in out.iterdir()) == ["acme__slugs-1", "acme__slugs-2"]
    assert "tests/test_slugs.py::test_simple" in (out / "acme__slugs-1" / "task.yaml").read_text()
