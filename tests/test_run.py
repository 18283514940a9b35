"""One task through every outcome, in real containers, and cleanup after normal and interrupted runs."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROJECT, containers_of, resq
from resq_runner.models import Outcome, RunManifest, TestStatus
from resq_runner.results import final_results, read_results


def wait_while_running(proc: subprocess.Popen, condition, polls: int = 600):
    """Polls `condition` (5 times a second, at most `polls` times) while `proc` still runs; returns its value."""
    for _ in range(polls):
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the command ended before it started a container: {proc.communicate()}")
        time.sleep(0.2)
    pytest.fail("the command never started a container")


def run(suite: Path, system: str, out: Path, *extra: str) -> dict:
    proc = resq("run", str(suite), "--system", system, "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return {r.task_id: r for r in read_results(out / "results.jsonl")}


def run_id(out: Path) -> str:
    return RunManifest.model_validate_json((out / "run.json").read_text()).run_id


def test_gold_passes_and_noop_fails_every_demo_task(demo_copy, tmp_path, docker_client, python_env):
    gold = run(demo_copy, "gold", tmp_path / "gold", "-j", "2")
    assert {t: r.outcome for t, r in gold.items()} == {
        "add-invoice-discount": Outcome.passed, "fix-allocate-remainder": Outcome.passed,
        "parse-grouped-amounts": Outcome.passed}
    allocate = gold["fix-allocate-remainder"]
    assert set(allocate.fail_to_pass.values()) == {TestStatus.passed}
    assert allocate.image_digest.startswith("sha256:") and allocate.cache_key
    assert (tmp_path / "gold" / "logs" / "fix-allocate-remainder" / "report.xml").exists()
    noop = run(demo_copy, "noop", tmp_path / "noop")
    assert {r.outcome for r in noop.values()} == {Outcome.failed}
    assert noop["fix-allocate-remainder"].fail_to_pass[
        "tests/test_allocate_hidden.py::test_three_way_split_keeps_every_cent"] is TestStatus.failed
    assert noop["fix-allocate-remainder"].pass_to_pass["tests/test_money.py::test_allocate_even_split"] is \
        TestStatus.passed
    for out in (tmp_path / "gold", tmp_path / "noop"):
        assert containers_of(docker_client, run_id(out)) == []


@pytest.mark.docker
def test_rerun_of_a_finished_run_resumes_without_work(demo_copy, tmp_path):
    out = tmp_path / "resume"
    first = run(demo_copy, "noop", out, "--task", "parse-grouped-amounts")
    again = resq("run", str(demo_copy), "--system", "noop", "--out", str(out), "--task", "parse-grouped-amounts")
    assert "resuming: 1 task(s) already done" in again.stderr
    assert len(read_results(out / "results.jsonl")) == 1
    assert first["parse-grouped-amounts"].outcome is Outcome.failed


@pytest.mark.docker
def test_patch_that_does_not_apply_is_patch_failed(demo_copy, tmp_path):
    (demo_copy / "parse-grouped-amounts" / "gold.patch").write_text(
        "--- a/ledgerlite/parse.py\n+++ b/ledgerlite/parse.py\n@@ -1,3 +1,3 @@\n-this line is not there\n"
        "+nor is this\n context\n context\n")
    result = run(demo_copy, "gold", tmp_path / "out", "--task", "parse-grouped-amounts")["parse-grouped-amounts"]
    assert result.outcome is Outcome.patch_failed
    assert "patch" in result.reason
    assert "git apply" in (tmp_path / "out" / "logs" / "parse-grouped-amounts" / "apply.log").read_text()


def test_tests_that_never_finish_are_timed_out(demo_copy, tmp_path, docker_client):
    task = demo_copy / "parse-grouped-amounts"
    (task / "hidden" / "tests" / "test_slow.py").write_text("import time\n\ndef test_forever():\n    time.sleep(600)\n")
    (task / "task.yaml").write_text((task / "task.yaml").read_text().replace("timeout_s: 120", "timeout_s: 3"))
    out = tmp_path / "out"
    result = run(demo_copy, "gold", out, "--task", "parse-grouped-amounts")["parse-grouped-amounts"]
    assert result.outcome is Outcome.timed_out
    assert containers_of(docker_client, run_id(out)) == []


PROTECTED_ATTACK = """\
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1 @@
+collect_ignore_glob = ["*hidden*"]
--- a/tests/test_parse.py
+++ b/tests/test_parse.py
@@ -4,6 +4,10 @@ import pytest
 
 from ledgerlite import parse_amount
 
+
+def test_padding():
+    assert True
+
 
 @pytest.mark.parametrize("text,expected", [("12.50", "12.50"), ("-3", "-3"), (" 7.1 ", "7.1")])
 def test_plain_amounts(text, expected):
"""


@pytest.mark.docker
def test_patch_editing_protected_test_files_still_fails(demo_copy, tmp_path):
    """Without the restore, the added conftest.py would skip the hidden tests and the task would pass."""
    (demo_copy / "parse-grouped-amounts" / "gold.patch").write_text(PROTECTED_ATTACK)
    out = tmp_path / "out"
    result = run(demo_copy, "gold", out, "--task", "parse-grouped-amounts")["parse-grouped-amounts"]
    assert result.outcome is Outcome.failed
    assert any(t.startswith("tests/test_parse_hidden.py::") for t in result.tests)
    assert "tests/test_parse.py::test_padding" not in result.tests


def test_interrupted_run_leaves_no_container_and_resumes(demo_copy, tmp_path, docker_client):
    task = demo_copy / "parse-grouped-amounts"
    (task / "hidden" / "tests" / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(600)\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "resq_runner", "run", str(demo_copy), "--system", "gold",
                             "--out", str(out), "--task", "parse-grouped-amounts"], cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_while_running(proc, lambda: (out / "run.json").exists() and containers_of(docker_client, run_id(out)))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert containers_of(docker_client, run_id(out)) == []
    assert final_results(read_results(out / "results.jsonl")) == {}  # nothing graded from a half-run task
    (task / "hidden" / "tests" / "test_slow.py").unlink()
    resumed = run(demo_copy, "gold", out, "--task", "parse-grouped-amounts")
    assert resumed["parse-grouped-amounts"].outcome is Outcome.passed
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in rows if r["outcome"] != "infra_error"] == ["passed"]


def test_unknown_system_is_one_line(demo_copy, tmp_path):
    proc = resq("run", str(demo_copy), "--system", "telepathy", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: unknown system 'telepathy' (available: ") and "gold, " in line


def test_sigterm_to_any_command_removes_its_containers(demo_copy, docker_client):
    """`resq tasks validate` (not only `resq run`) shuts down cleanly on SIGTERM."""
    task = demo_copy / "parse-grouped-amounts"
    (task / "hidden" / "tests" / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(600)\n")
    before = {c.id for c in docker_client.containers.list(all=True, sparse=True, filters={"label": "resq.run"})}
    proc = subprocess.Popen([sys.executable, "-m", "resq_runner", "tasks", "validate", str(demo_copy), "--runs", "1",
                             "--task", "parse-grouped-amounts"], cwd=PROJECT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def new_validate_containers():
            return [c for c in docker_client.containers.list(all=True, sparse=True, filters={"label": "resq.run"})
                    if c.id not in before and "validate" in c.attrs["Labels"].get("resq.run", "")]

        mine = wait_while_running(proc, new_validate_containers)
        run_ids = {c.attrs["Labels"]["resq.run"] for c in mine}
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert all(containers_of(docker_client, run) == [] for run in run_ids)
