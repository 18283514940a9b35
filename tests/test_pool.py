"""The pool of pre-created eval containers: fresh containers only, labelled, removed at the end, same results."""

from __future__ import annotations

import secrets
import time

import pytest

from conftest import containers_of
from resq_runner.errors import InfraError
from resq_runner.models import SystemSpec
from resq_runner.runner import RunOptions, run_suite
from resq_runner.sandbox import Sandbox
from resq_runner.sandbox_pool import POOL_LABEL, ContainerPool


def make_pool(client, run_id: str, size: int = 2) -> ContainerPool:
    return ContainerPool(lambda tag, labels: Sandbox(client, tag, run_id, "eval", command=["true"], labels=labels),
                         size=size)


def wait_until(condition, seconds: float = 60) -> None:
    """Waits for the background thread (no timing is asserted: the condition is)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def state_of(sandbox: Sandbox) -> dict:
    sandbox.container.reload()
    return sandbox.container.attrs["State"]


def test_every_container_taken_is_new_and_never_started(docker_client, python_env, cleanup_run):
    run_id = f"test-pool-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    with make_pool(docker_client, run_id) as pool:
        pool.expect([python_env.tag] * 4)
        wait_until(lambda: pool.idle(python_env.tag) == 2)
        seen = set()
        for _ in range(4):
            sandbox = pool.take(python_env.tag)
            state = state_of(sandbox)
            assert state["Status"] == "created" and state["StartedAt"].startswith("0001-")
            assert sandbox.container.id not in seen
            seen.add(sandbox.container.id)
            sandbox.start()
            assert sandbox.wait(60).code == 0
            pool.release(sandbox)
    assert len(seen) == 4
    assert containers_of(docker_client, run_id) == []


def test_pool_containers_are_labelled_and_all_removed_at_close(docker_client, python_env, cleanup_run):
    run_id = f"test-pool-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    pool = make_pool(docker_client, run_id, size=2)
    pool.expect([python_env.tag] * 5)
    wait_until(lambda: pool.idle(python_env.tag) == 2)
    used = pool.take(python_env.tag)
    pool.release(used)
    made = containers_of(docker_client, run_id)
    assert made and all(c.attrs["Labels"].get(POOL_LABEL) == pool.labels[POOL_LABEL] for c in made)  # sparse list
    assert pool.idle(python_env.tag) <= 2  # never more than `size` made ahead
    pool.close()
    assert containers_of(docker_client, run_id) == []


def test_a_missing_image_is_an_infra_error_when_taken(docker_client, cleanup_run):
    run_id = f"test-pool-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    missing = f"resq-task:missing-{secrets.token_hex(4)}"
    with make_pool(docker_client, run_id) as pool:
        pool.expect([missing, missing])
        with pytest.raises(InfraError, match="missing"):
            pool.take(missing)
    assert containers_of(docker_client, run_id) == []


HARMLESS = ('diff --git a/ledgerlite/parse.py b/ledgerlite/parse.py\n'
    'index 584001e..644447c 100644\n'
    '--- a/ledgerlite/parse.py\n'
    '+++ b/ledgerlite/parse.py\n'
    '@@ -1,4 +1,5 @@\n'
    ' """Parsing amounts typed by people: "12.50", "-3", " 7.1 "."""\n'
    '+# Amounts are parsed strictly; see the README.\n'
    ' \n'
    ' from __future__ import annotations\n'
    ' \n')


def _mixed_suite(demo_copy):
    """gold passes one task, fails one (a harmless edit that fixes nothing) and cannot apply on the third."""
    (demo_copy / "parse-grouped-amounts" / "gold.patch").write_text(HARMLESS)
    (demo_copy / "add-invoice-discount" / "gold.patch").write_text(
        "--- a/ledgerlite/nothere.py\n+++ b/ledgerlite/nothere.py\n@@ -1 +1 @@\n-x\n+y\n")
    return demo_copy


def test_a_run_with_the_pool_grades_exactly_like_one_without(docker_client, python_env, demo_copy, tmp_path,
                                                             cleanup_run):
    suite = _mixed_suite(demo_copy)
    graded = {}
    for pool in (0, 2):
        out = tmp_path / f"run-pool{pool}-{secrets.token_hex(2)}"
        cleanup_run.append(out.name)
        _paths, results = run_suite(RunOptions(suite=str(suite), system=SystemSpec(name="gold"), out=out, jobs=2,
                                               pool=pool, retries=0))
        graded[pool] = {r.task_id: (r.outcome.value, r.tests, r.fail_to_pass, r.pass_to_pass) for r in results}
        assert containers_of(docker_client, out.name) == []
    outcomes = {task: grade[0] for task, grade in graded[0].items()}
    assert outcomes == {"fix-allocate-remainder": "passed", "parse-grouped-amounts": "failed",
                        "add-invoice-discount": "patch_failed"}
    assert graded[2] == graded[0]


def test_a_container_started_ahead_has_run_nothing_but_its_waiting_command(docker_client, python_env, cleanup_run):
    """start_ahead: the container is running when taken, its command still waiting for stdin (nothing of a task
    has reached it), and it takes its inputs as a container started on the spot does."""
    run_id = f"test-pool-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    command = ["sh", "-c", "wc -c"]  # prints nothing until its stdin closes
    with ContainerPool(lambda tag, labels: Sandbox(client=docker_client, image=tag, run_id=run_id, role="eval",
                                                   command=command, labels=labels, stdin=True),
                       size=2, start_ahead=True, threads=2) as pool:
        pool.expect([python_env.tag] * 3)
        wait_until(lambda: pool.idle(python_env.tag) == 2)
        for payload in (b"abc", b"x" * 70000):
            sandbox = pool.take(python_env.tag)
            assert state_of(sandbox)["Running"] and sandbox.started
            assert sandbox.stdout() == ""
            sandbox.converse(payload)
            assert sandbox.wait(60).code == 0
            assert sandbox.stdout().strip() == str(len(payload))
            pool.release(sandbox)
    assert containers_of(docker_client, run_id) == []


def test_converse_returns_at_the_second_mark_while_the_container_still_runs(docker_client, python_env, cleanup_run):
    """The result block is read from the attached stream: the reply ends at the mark's second line, without waiting
    for the process to exit; a stream that ends without it gives None."""
    run_id = f"test-pool-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)
    script = "cat >/dev/null; printf 'before\\nM\\npayload\\n'; sleep 0.2; printf 'M\\nafter\\n'; sleep 600"
    with Sandbox(docker_client, python_env.tag, run_id, "eval", command=["sh", "-c", script], stdin=True) as box:
        reply = box.converse(b"inputs", b"M\n", 60)
        assert reply.stdout is not None and reply.stdout.endswith(b"M\npayload\nM\n")
        assert state_of(box)["Running"]  # still in its `sleep 600`
    with Sandbox(docker_client, python_env.tag, run_id, "eval", command=["sh", "-c", "cat; echo M"], stdin=True) as box:
        assert box.converse(b"no mark here\n", b"M\n", 60).stdout is None
        assert box.wait(60).code == 0
    assert containers_of(docker_client, run_id) == []
