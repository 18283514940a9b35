"""The fault matrix: real processes, the real engine. Each case ends, after a resume, with exactly one final row per
task and no container left with the run's label."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import containers_of, resq
from faults import (EngineProxy, assert_one_final_row_each, flat, make_suite, read_rows, run_id_of,
                    run_in_background, running_eval, wait_for)

SLEEPER = """
    import time

    def test_takes_a_while():
        time.sleep(4)
"""
FAULTS = {
    "oom": {"limits": {"memory": "128m"}, "test": """
        def test_eats_memory():
            hoard = []
            while True:
                hoard.append(b"x" * (16 * 1024 * 1024))
    """},
    "fork-bomb": {"limits": {"pids": 64}, "timeout_s": 8, "test": """
        import os, time

        def test_forks_forever():
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
    """},
    "never-ends": {"timeout_s": 5, "test": """
        import time

        def test_sleeps_forever():
            time.sleep(3600)
    """},
    "huge-file": {"limits": {"file_size": "16m"}, "test": """
        def test_writes_gigabytes_to_disk():
            block = b"x" * (1024 * 1024)
            with open("huge.bin", "wb") as out:
                for _ in range(4096):
                    out.write(block)
    """},
    "huge-output": {"flags": "-s", "test": """
        import sys

        def test_prints_tens_of_megabytes():
            block = "y" * (1024 * 1024)
            for _ in range(64):
                sys.stdout.write(block)
    """},
    # limits of its own: a container made for it (labelled with the task), not one from the run's pool
    "container-killed": {"limits": {"pids": 256}, "test": SLEEPER},
}


def test_faults_inside_the_eval_container(tmp_path, python_env, docker_client, cleanup_run):
    suite = make_suite(tmp_path / "faults", FAULTS)
    out = tmp_path / "faults-run"
    killed = []

    def kill_from_outside():
        run_id = run_id_of(out)
        cleanup_run.append(run_id)
        container = wait_for(lambda: running_eval(docker_client, run_id, "container-killed"), timeout=300)
        time.sleep(1)
        container.kill()
        killed.append(container.name)

    killer = threading.Thread(target=kill_from_outside, daemon=True)
    killer.start()
    proc = resq("run", str(suite), "--system", "noop", "--out", str(out), "-j", "3")
    killer.join(timeout=1)
    assert proc.returncode == 0, proc.stderr
    assert killed

    final = assert_one_final_row_each(out, FAULTS)
    assert final["oom"]["outcome"] == "failed"
    assert "ran out of memory" in final["oom"]["reason"]  # the OOM kill seen (cgroup count, or the engine)
    assert final["fork-bomb"]["outcome"] == "timed_out"
    assert final["never-ends"]["outcome"] == "timed_out"
    assert final["huge-file"]["outcome"] == "failed"
    assert "File too large" in (Path(final["huge-file"]["log_dir"]) / "test_output.txt").read_text()
    output = Path(final["huge-output"]["log_dir"]) / "test_output.txt"
    assert output.stat().st_size < 5 * 1024 * 1024
    assert "[resq: output cut" in output.read_text()
    attempts = [r for r in read_rows(out) if r["task_id"] == "container-killed"]
    assert [r["outcome"] for r in attempts] == ["infra_error", "passed"]
    assert not containers_of(docker_client, run_id_of(out))

    rows_before = (out / "results.jsonl").read_bytes()
    again = resq("run", str(suite), "--system", "noop", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "resuming: 6 task(s) already done" in flat(again.stderr)
    assert (out / "results.jsonl").read_bytes() == rows_before


def test_kill_9_of_the_runner_then_resume(demo_copy, tmp_path, python_env, docker_client, cleanup_run):
    out = tmp_path / "killed-runner"
    runner = run_in_background("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "1")
    try:
        run_id = run_id_of(out)
        cleanup_run.append(run_id)
        wait_for(lambda: read_rows(out) and running_eval(docker_client, run_id), timeout=300, interval=0.05)
    finally:
        runner.kill()  # SIGKILL: no handler runs, no cleanup happens
        runner.communicate()
    assert runner.returncode == -signal.SIGKILL
    done_before = {r["task_id"] for r in read_rows(out)}
    with open(out / "results.jsonl", "ab") as journal:  # and a row torn by the crash mid-write
        journal.write(b'{"schema_version":1,"run_id":"killed-runner","task_id":"parse-grou')

    resumed = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "2")
    assert resumed.returncode == 0, resumed.stderr
    final = assert_one_final_row_each(out, ["add-invoice-discount", "fix-allocate-remainder",
                                            "parse-grouped-amounts"])
    assert all(row["outcome"] == "passed" for row in final.values())
    assert f"resuming: {len(done_before)} task(s) already done" in flat(resumed.stderr)
    assert (out / "results.jsonl").read_bytes().endswith(b"}\n")
    assert not containers_of(docker_client, run_id)


def test_engine_unreachable_for_a_moment_is_retried(tmp_path, python_env, docker_client, cleanup_run):
    suite = make_suite(tmp_path / "outage", {"through-outage": {"test": SLEEPER}})
    out = tmp_path / "outage-run"
    proxy = EngineProxy()
    proxy.start()
    runner = run_in_background("run", str(suite), "--system", "noop", "--out", str(out),
                               env={"DOCKER_HOST": proxy.url})
    try:
        run_id = run_id_of(out)
        cleanup_run.append(run_id)
        wait_for(lambda: running_eval(docker_client, run_id), timeout=300)
        proxy.stop()
        time.sleep(1.5)
        proxy.start()
        _, stderr = runner.communicate(timeout=300)
    finally:
        if runner.poll() is None:
            runner.kill()
        proxy.stop()
    assert runner.returncode == 0, stderr
    outcomes = [r["outcome"] for r in read_rows(out)]
    assert outcomes[0] == "infra_error" and outcomes[-1] == "passed", outcomes
    assert_one_final_row_each(out, ["through-outage"])
    assert not containers_of(docker_client, run_id)


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny-disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_results_disk_full(demo_copy, tiny_disk, python_env, docker_client, cleanup_run):
    out = tiny_disk / "full-disk-run"
    runner = run_in_background("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "1")
    try:
        run_id = run_id_of(out)
        cleanup_run.append(run_id)
        wait_for(lambda: read_rows(out), timeout=300, interval=0.02)
        filler = fill(tiny_disk)
        _, stderr = runner.communicate(timeout=300)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 2, stderr
    error_lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "disk is full" in error_lines[0], stderr
    rows = read_rows(out)  # every line still parses: nothing half-written
    assert 1 <= len(rows) < 3
    assert not containers_of(docker_client, run_id)

    filler.unlink()
    resumed = resq("run", str(demo_copy), "--system", "gold", "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert_one_final_row_each(out, ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"])
    assert not containers_of(docker_client, run_id)


def test_an_oom_kill_is_seen_through_the_engine_where_the_harness_cannot_read_its_cgroup(tmp_path, python_env,
                                                                                          docker_client, cleanup_run,
                                                                                          monkeypatch):
    """A grade.py that finds no OOM counter (another cgroup layout) leaves `oom_kills` out: the runner then waits for
    the container's exit and takes the engine's OOMKilled, as before."""
    import importlib

    from resq_runner.models import SystemSpec
    from resq_runner.resources import harness_file
    from resq_runner.runner import RunOptions, run_suite

    evaluation = importlib.import_module("resq_runner.grading.evaluate")
    files = evaluation.harness_files()
    grade = files["/resq/harness/grade.py"].decode()
    blind = grade.replace("OOM_COUNTERS = (", "OOM_COUNTERS = () and (", 1)
    assert blind != grade and harness_file("grade.py").read_text() == grade
    monkeypatch.setattr(evaluation, "harness_files", lambda: {**files, "/resq/harness/grade.py": blind.encode()})
    suite = make_suite(tmp_path / "oom", {"oom": FAULTS["oom"]})
    out = tmp_path / "oom-run"
    cleanup_run.append(out.name)
    _paths, (result,) = run_suite(RunOptions(suite=str(suite), system=SystemSpec(name="noop"), out=out, retries=0))
    assert result.outcome.value == "failed"
    assert "ran out of memory" in result.reason
    assert not containers_of(docker_client, run_id_of(out))


def test_a_task_image_removed_during_a_run_is_found_missing_then_rebuilt(tmp_path, docker_client, python_env,
                                                                         cleanup_run):
    """The run remembers the task images it found; when the engine fails under a task (here: its image was removed
    behind the run's back), the retry asks the engine again and builds the image anew."""
    import secrets
    import shutil

    from conftest import DEMO
    from resq_runner.models import Outcome, SystemSpec
    from resq_runner.pipeline import Pipeline
    from resq_runner.results import RunPaths
    from resq_runner.sandbox import Limits
    from resq_runner.systems import make_system
    from resq_runner.tasks import load_suite

    suite = tmp_path / "suite"
    shutil.copytree(DEMO, suite)
    first = sorted(p.parent.name for p in suite.glob("*/task.yaml"))[0]
    for extra in suite.glob("*/task.yaml"):
        if extra.parent.name != first:
            shutil.rmtree(extra.parent)
    snapshot = next(suite.glob("_snapshots/*"))
    (snapshot / "resq_nonce.txt").write_text(secrets.token_hex(8))  # a task image of this test's own
    (tf,) = load_suite(suite)
    run_id = f"test-image-gone-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    spec = SystemSpec(name="gold")
    pipeline = Pipeline(docker_client, make_system(spec), spec, run_id, RunPaths(tmp_path / "run"), Limits(), None)
    image = pipeline.task_image(tf, python_env)
    docker_client.images.remove(image.tag, force=True)
    try:
        gone = pipeline.run_task(tf, python_env, 1, threading.Event())
        assert gone.outcome is Outcome.infra_error and "missing" in gone.reason, gone.reason
        again = pipeline.run_task(tf, python_env, 2, threading.Event())
        assert again.outcome is Outcome.passed, again.reason
    finally:
        docker_client.images.remove(image.tag, force=True)
