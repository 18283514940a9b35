"""Output into pipes and mistaken output paths: tables are never cut when stdout is not a terminal, a file where a
folder belongs or a missing folder is one `error:` line (exit 2), an empty predictions file is refused, and a
reader that goes away (`resq run | head`) ends the run cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT, containers_of, resq
from reports_helpers import make_run
from resq_runner.models import Outcome
from resq_runner.tasks import load_suite


def one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    return line


def test_piped_tables_cut_no_id():
    proc = resq("tasks", "list", "tasks/py", check=True)  # stdout is a pipe here
    ids = [tf.task.id for tf in load_suite(PROJECT / "tasks" / "py")]
    assert all(f" {task_id} " in proc.stdout for task_id in ids)
    assert "…" not in proc.stdout


def test_out_naming_a_file_is_one_line(demo_copy, tmp_path):
    file = tmp_path / "afile"
    file.write_text("not a folder\n")
    line = one_error(resq("run", str(demo_copy), "--system", "gold", "--out", str(file)))
    assert str(file) in line and "is a file, not a folder" in line
    line = one_error(resq("run", str(demo_copy), "--system", "gold", "--out", str(file / "run")))
    assert "is a file, not a folder" in line
    line = one_error(resq("tasks", "validate", str(demo_copy), "--runs", "1", "--out", str(file)))
    assert "is a file, not a folder" in line and "free space" not in line
    assert file.read_text() == "not a folder\n"


def test_html_into_a_missing_folder_creates_nothing(tmp_path):
    run = make_run(tmp_path / "run", "noop", {"t1": Outcome.failed})
    top = Path("/") / f"resq-missing-{os.getpid()}"
    line = one_error(resq("report", str(run), "--html", str(top / "sub" / "report.html")))
    assert str(top / "sub") in line and "does not exist" in line
    assert not top.exists()
    one_error(resq("history", str(tmp_path), "--html", str(tmp_path / "nope" / "history.html")))
    assert not (tmp_path / "nope").exists()


def test_empty_predictions_file_is_refused(demo_copy, tmp_path):
    predictions = tmp_path / "predictions.json"
    out = tmp_path / "run"
    for text in ("[]", "", json.dumps([{"instance_id": "ghost", "model_patch": ""}])):
        predictions.write_text(text)
        line = one_error(resq("run", str(demo_copy), "--system", "predictions", "--predictions", str(predictions),
                              "--out", str(out)))
        assert str(predictions) in line
        assert not out.exists()  # refused before the run folder was written


def test_reader_going_away_ends_the_run_cleanly(demo_copy, tmp_path, docker_client, cleanup_run):
    out = tmp_path / "piped"
    cleanup_run.append(out.name)
    proc = subprocess.Popen([sys.executable, "-m", "resq_runner", "run", str(demo_copy), "--system", "gold", "--out",
                             str(out), "-j", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout.readline().startswith(b"run folder:")  # like `resq run ... 2>&1 | head -1`
    proc.stdout.close()
    assert proc.wait(timeout=600) == 141  # the exit of a process ended by SIGPIPE, no traceback to print
    outcomes = [json.loads(line)["outcome"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert outcomes and set(outcomes) == {"passed"}  # what ran is journaled; nothing is an infra_error
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    cleanup_run.append(run_id)
    assert containers_of(docker_client, run_id) == []
    resumed = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), check=True)
    assert f"{len(outcomes)} task(s) already done" in " ".join(resumed.stderr.split())
