"""Malformed input: one `error:` line naming the file, line or task; exit code 2; nothing already written lost."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import resq
from resq_runner.models import Outcome, Result, RunManifest, SystemSpec
from resq_runner.results import Journal, RunPaths, write_manifest

TASK = "fix-allocate-remainder"


def set_field(suite: Path, text_from: str, text_to: str) -> None:
    file = suite / TASK / "task.yaml"
    content = file.read_text()
    assert text_from in content
    file.write_text(content.replace(text_from, text_to))


def write_patch(data: bytes):
    return lambda suite, out: (suite / TASK / "gold.patch").write_bytes(data)


def huge_patch(suite: Path, out: Path) -> None:
    body = "".join(f"+line {i} of a generated file that nobody should commit\n" for i in range(120_000))
    (suite / TASK / "gold.patch").write_text(
        f"--- /dev/null\n+++ b/generated.txt\n@@ -0,0 +1,120000 @@\n{body}")


def rows_from_another_schema(suite: Path, out: Path) -> None:
    data = json.loads((out / "results.jsonl").read_text())
    data["schema_version"] = 99
    (out / "results.jsonl").write_text(json.dumps(data) + "\n")


def manifest_from_another_schema(suite: Path, out: Path) -> None:
    data = json.loads((out / "run.json").read_text())
    data["schema_version"] = 99
    (out / "run.json").write_text(json.dumps(data))


def bad_line_in_results(suite: Path, out: Path) -> None:
    good = (out / "results.jsonl").read_text()
    (out / "results.jsonl").write_text(good + "{broken\n" + good)


CASES = {
    "wrong type": (lambda s, o: set_field(s, "timeout_s: 120", "timeout_s: soon"), [],
                   ["task.yaml", "field 'timeout_s'"]),
    "list given as text": (lambda s, o: set_field(s, "tags: [bugfix, files:1, easy]", "tags: bugfix"), [],
                           ["task.yaml", "field 'tags'"]),
    "unknown field": (lambda s, o: set_field(s, "timeout_s: 120", "timeout_s: 120\ntimeout_minutes: 2"), [],
                      ["task.yaml", "timeout_minutes"]),
    "bad size in limits": (lambda s, o: set_field(s, "timeout_s: 120", "timeout_s: 120\nlimits: {memory: lots}"), [],
                           ["task.yaml", "field 'limits.memory'", "not a size"]),
    "not yaml": (lambda s, o: (s / TASK / "task.yaml").write_bytes(b"id: [unclosed\n\xff"), [],
                 ["task.yaml", "cannot read"]),
    "missing hidden folder": (lambda s, o: (s / TASK / "task.yaml").write_text(
        (s / TASK / "task.yaml").read_text() + "hidden_tests: nowhere\n"), [],
        ["task.yaml", "'nowhere' does not exist"]),
    "missing snapshot": (lambda s, o: set_field(s, "path: ../_snapshots/ledgerlite", "path: ../_snapshots/gone"),
                         [], ["task.yaml", "snapshot.path '../_snapshots/gone' does not exist"]),
    "unknown snapshot kind": (lambda s, o: set_field(s, "{kind: dir, path: ../_snapshots/ledgerlite}",
                                                     "{kind: svn, url: 'svn://example/repo'}"), [],
                              ["task.yaml", "field 'snapshot'", "svn"]),
    "binary patch": (write_patch(b"diff --git a/x b/x\n\0\0\x01binary"), [], ["gold.patch", "NUL bytes"]),
    "non-UTF-8 patch": (write_patch(b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-caf\xe9\n+cafe\n"), [],
                        ["gold.patch", "not UTF-8"]),
    "not a diff": (write_patch(b"please fix the bug\n"), [], ["gold.patch", "not a unified diff"]),
    "empty patch": (write_patch(b"\n"), [], ["gold.patch", "empty or missing", "resq tasks gold"]),
    "huge patch": (huge_patch, [], ["gold.patch", "more than"]),
    "unknown task id": (lambda s, o: None, ["--task", "no-such-task"], ["no task named no-such-task"]),
    "duplicate task id on the command line": (lambda s, o: None, ["--task", TASK, "--task", TASK],
                                              [f"--task {TASK} given more than once"]),
    "duplicate task id in task.yaml": (lambda s, o: (s / "parse-grouped-amounts" / "task.yaml").write_text(
        (s / "parse-grouped-amounts" / "task.yaml").read_text().replace("id: parse-grouped-amounts", f"id: {TASK}")),
        [], ["parse-grouped-amounts/task.yaml", f"id '{TASK}' differs from its folder name"]),
    "results from another schema version": (rows_from_another_schema, [],
                                            ["results.jsonl:1", "schema version 99"]),
    "run manifest from another schema version": (manifest_from_another_schema, [],
                                                 ["run.json", "schema version 99"]),
    "bad JSON line in results": (bad_line_in_results, [], ["results.jsonl:2", "not a JSON line"]),
}


def earlier_run(out: Path) -> None:
    """A run folder holding one finished row, as an earlier `resq run` would have left it."""
    now = datetime.now(timezone.utc)
    gold = SystemSpec(name="gold")
    write_manifest(RunPaths(out), RunManifest(run_id=out.name, suite="demo", suite_hash="x", system=gold,
                                              resq_version="0", grader_version="0", started_at=now))
    Journal(out / "results.jsonl").append(Result(run_id=out.name, task_id="add-invoice-discount", task_hash="x",
                                                 system=gold, outcome=Outcome.passed, started_at=now,
                                                 finished_at=now))


def snapshot_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}


NEEDS_ENGINE = {"results from another schema version", "run manifest from another schema version",
                "bad JSON line in results"}  # the run folder is read once the engine answered


@pytest.mark.parametrize("case", [pytest.param(case, marks=pytest.mark.docker) if case in NEEDS_ENGINE else case
                                  for case in CASES])
def test_bad_input_gives_one_error_line_and_exit_2(case, demo_copy, tmp_path):
    breaks, extra_args, fragments = CASES[case]
    out = tmp_path / "earlier-run"
    earlier_run(out)
    breaks(demo_copy, out)
    before = snapshot_files(out)

    proc = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), *extra_args)

    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]  # warnings may come first
    assert len(errors) == 1 and errors[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert snapshot_files(out) == before


@pytest.mark.parametrize("content, fragment", [
    (b'{"instance_id": "fix-allocate-remainder", "model_patch": ""}\n{"instance_id": "x", "model_pa\n', ":2: not a"),
    (b'{"instance_id": "fix-allocate-remainder", "model_patch": ""}\n[1, 2]\n', ":2: not a prediction row"),
    (b'{"instance_id": "fix-allocate-remainder", "model_patch": ""}\n{"model_patch": "diff"}\n',
     ":2: not a prediction row"),
], ids=["torn line", "not an object", "no instance_id"])
def test_predictions_file_with_bad_lines(content, fragment, demo_copy, tmp_path):
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_bytes(content)
    out = tmp_path / "earlier-run"
    earlier_run(out)
    before = snapshot_files(out)
    proc = resq("run", str(demo_copy), "--system", "predictions", "--predictions", str(predictions),
                "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {predictions}{fragment}"), proc.stderr
    assert snapshot_files(out) == before


def test_bad_limit_on_the_command_line(demo_copy, tmp_path):
    proc = resq("run", str(demo_copy), "--system", "gold", "--out", str(tmp_path / "run"), "--memory", "lots")
    assert proc.returncode == 2
    assert "Invalid value for --memory: 'lots' is not a size" in proc.stderr
    assert not (tmp_path / "run").exists()
