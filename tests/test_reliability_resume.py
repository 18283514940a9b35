"""Resume and caching, clean shutdown on signals, one writer per run folder, and `resq gc`."""

from __future__ import annotations

import io
import secrets
import signal
import tarfile
from datetime import datetime, timezone

import pytest

from conftest import containers_of, resq
from faults import (assert_one_final_row_each, final_rows, flat, read_rows, run_id_of, run_in_background,
                    running_eval, wait_for)
from resq_runner.errors import ResqError
from resq_runner.models import Outcome, Result, SystemSpec
from resq_runner.results import Journal, RunLock, RunPaths, final_results, read_results

DEMO_TASKS = ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"]


def row(task_id: str, outcome: Outcome = Outcome.passed, attempt: int = 1) -> Result:
    now = datetime.now(timezone.utc)
    return Result(run_id="r", task_id=task_id, task_hash="h", system=SystemSpec(name="gold"), attempt=attempt,
                  outcome=outcome, started_at=now, finished_at=now)


def test_torn_last_line_is_ignored_then_cut_and_rows_stay_whole(tmp_path):
    path = tmp_path / "results.jsonl"
    journal = Journal(path)
    journal.append(row("a"))
    journal.append(row("b", Outcome.infra_error))
    with open(path, "ab") as out:
        out.write(b'{"schema_version":1,"run_id":"r","task_id":"b","outc')
    assert [r.task_id for r in read_results(path)] == ["a", "b"]

    journal = Journal(path)  # reopening cuts the torn tail, so the next row starts on its own line
    journal.append(row("b", Outcome.failed, attempt=2))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4
    final = final_results(read_results(path))
    assert {key: r.outcome for key, r in final.items()} == {("a", 0): Outcome.passed, ("b", 0): Outcome.failed}


def test_a_bad_line_in_the_middle_is_an_error_naming_it(tmp_path):
    path = tmp_path / "results.jsonl"
    Journal(path).append(row("a"))
    with open(path, "ab") as out:
        out.write(b"not json\n")
    Journal(path).append(row("b"))
    with pytest.raises(ResqError, match=r"results.jsonl:2: not a JSON line"):
        read_results(path)


@pytest.mark.docker
def test_second_writer_on_a_run_folder_is_refused(demo_copy, tmp_path):
    out = tmp_path / "locked-run"
    with RunLock(RunPaths(out)):
        proc = resq("run", str(demo_copy), "--system", "gold", "--out", str(out))
    assert proc.returncode == 2
    assert "another `resq run` is writing to this run folder" in flat(proc.stderr)
    assert not (out / "results.jsonl").exists()


def test_finished_tasks_are_skipped_by_cache_key_and_changed_ones_regraded(demo_copy, tmp_path, python_env,
                                                                           docker_client, cleanup_run):
    out = tmp_path / "cached-run"
    resq("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "3", check=True)
    cleanup_run.append(run_id_of(out))
    first = read_rows(out)
    assert len(first) == 3

    again = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), check=True)
    assert "resuming: 3 task(s) already done" in flat(again.stderr)
    assert read_rows(out) == first
    assert not containers_of(docker_client, run_id_of(out))

    hidden = demo_copy / "parse-grouped-amounts" / "hidden" / "tests" / "test_parse_hidden.py"
    hidden.write_text(hidden.read_text() + "\n# a changed hidden test changes the task's cache key\n")
    changed = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), check=True)
    assert "resuming: 2 task(s) already done" in flat(changed.stderr)
    rows = read_rows(out)
    assert rows[:3] == first
    assert [(r["task_id"], r["outcome"]) for r in rows[3:]] == [("parse-grouped-amounts", "passed")]
    assert rows[3]["cache_key"] != next(r["cache_key"] for r in first if r["task_id"] == "parse-grouped-amounts")


@pytest.mark.parametrize("sig, grace", [(signal.SIGTERM, "300"), (signal.SIGINT, "0")],
                         ids=["sigterm-with-grace", "sigint-no-grace"])
def test_signal_stops_cleanly_and_the_run_resumes(sig, grace, demo_copy, tmp_path, python_env, docker_client,
                                                  cleanup_run):
    out = tmp_path / f"signalled-{sig.name.lower()}"
    runner = run_in_background("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "1",
                               "--grace", grace)
    try:
        run_id = run_id_of(out)
        cleanup_run.append(run_id)
        wait_for(lambda: running_eval(docker_client, run_id), timeout=300, interval=0.05)
        finished_before = len(final_rows(out))
        runner.send_signal(sig)
        _, stderr = runner.communicate(timeout=300)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert not containers_of(docker_client, run_id)
    final = final_rows(out)
    if grace != "0":  # the evaluation under way was let finish, and its row kept
        assert len(final) > finished_before
    assert len(final) < 3  # nothing new was scheduled

    resumed = resq("run", str(demo_copy), "--system", "gold", "--out", str(out), "-j", "2")
    assert resumed.returncode == 0, resumed.stderr
    final = assert_one_final_row_each(out, DEMO_TASKS)
    assert all(r["outcome"] == "passed" for r in final.values())
    assert not containers_of(docker_client, run_id)


def test_gc_removes_a_runs_containers_volumes_and_temporary_images(docker_client, python_env):
    run_id, other = f"gc-{secrets.token_hex(3)}", f"gc-other-{secrets.token_hex(3)}"
    made = {}
    for rid in (run_id, other):
        labels = {"resq.run": rid}
        volume = docker_client.volumes.create(name=f"resq-{rid}", labels=labels)
        image = temporary_image(docker_client, python_env.tag, rid)
        container = docker_client.containers.create(python_env.tag, ["true"], labels=labels)
        made[rid] = (volume, image, container)
    try:
        proc = resq("gc", "--run-id", run_id, check=True)
        assert "removed 1 container(s)" in proc.stdout
        assert f"removed 1 volume(s): resq-{run_id}" in proc.stdout
        assert "removed 1 temporary image(s)" in proc.stdout
        assert not docker_client.containers.list(all=True, filters={"label": f"resq.run={run_id}"})
        assert not docker_client.volumes.list(filters={"label": f"resq.run={run_id}"})
        assert not docker_client.images.list(filters={"label": f"resq.run={run_id}"})
        assert docker_client.images.list(filters={"label": f"resq.run={other}"})  # another run's are kept
        assert docker_client.volumes.list(filters={"label": f"resq.run={other}"})
        assert docker_client.images.get(python_env.tag)  # the content-hashed cache is kept
    finally:
        resq("gc", "--run-id", other)


def temporary_image(client, base: str, run_id: str):
    dockerfile = f"FROM {base}\nLABEL resq.image=temporary resq.run={run_id}\n".encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    image, _ = client.images.build(fileobj=context, custom_context=True, tag=f"resq-tmp:{run_id}", rm=True)
    return image
