"""`resq run --executor ray` on a real Ray cluster of several nodes on this machine, through the real Docker engine.

The cluster is started by this module (ray.cluster_utils: one process per node) and stopped with its shutdown(),
which kills exactly the processes it started. Its head node has no `docker` resource; worker nodes are added and
removed as the tests need them.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker.errors
import pytest

from conftest import PROJECT, containers_of, resq
from resq_runner import environments
from resq_runner.cluster import load_shipped_image, save_image
from resq_runner.models import ImageRef, Outcome, RunManifest
from resq_runner.results import read_results
from resq_runner.sandbox import make_tar
from resq_runner.tasks import load_suite
from resq_runner.tasks.snapshots import snapshot_hash

pytestmark = pytest.mark.ray

if os.environ.get("CI"):
    import ray.cluster_utils  # CI installs the ray extra: a missing Ray is a failure there, not a skip
else:
    pytest.importorskip("ray.cluster_utils", reason="the ray extra is not installed: pip install -e '.[ray]'")

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node without Docker; tests add worker nodes with `docker: 1`. Environment set before any start."""
    from ray.cluster_utils import Cluster

    scratch = Path(tempfile.mkdtemp(prefix="resq-ray-", dir="/tmp"))  # short: Ray's socket paths are length-bound
    (scratch / "ray").mkdir()
    saved = {name: os.environ.get(name) for name in [*RAY_ENV, "RAY_TMPDIR"]}
    os.environ.update(RAY_ENV, RAY_TMPDIR=str(scratch))  # the address file goes here, not into the shared /tmp/ray
    started = None
    try:
        started = Cluster(initialize_head=True, head_node_args=dict(
            num_cpus=1, gcs_server_port=free_port(), temp_dir=str(scratch / "ray"), include_dashboard=False,
            dashboard_port=free_port(), dashboard_agent_listen_port=free_port(),  # not the fixed defaults
            object_store_memory=512 * 1024 * 1024))  # room for a shipped task image (~300 MB)
        yield started
    finally:
        if started is not None:
            started.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(scratch, ignore_errors=True)


def add_docker_node(cluster):
    return cluster.add_node(num_cpus=1, resources={"docker": 1})


def ray_run(cluster, out: Path, *extra: str, suite: Path = PROJECT / "tasks" / "demo", system: str = "gold",
            address: str | None = None) -> list:
    return ["run", str(suite), "--system", system, "--executor", "ray", "--address", address or cluster.address,
            "--out", str(out), *extra]


def run_id(out: Path) -> str:
    return RunManifest.model_validate_json((out / "run.json").read_text()).run_id


def final_rows(out: Path) -> dict:
    rows = [r for r in read_results(out / "results.jsonl") if r.outcome.is_final]
    assert len(rows) == len({r.task_id for r in rows}), "a task has more than one final row"
    return {r.task_id: r for r in rows}


def test_cluster_without_a_docker_node_is_one_clear_error(cluster, tmp_path):
    out = tmp_path / "out"
    proc = resq(*ray_run(cluster, out), timeout=300)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no node with the 'docker' resource" in errors[0], proc.stderr
    assert not out.exists()  # checked before the run wrote anything


def test_losing_every_docker_node_ends_with_a_clear_error_and_the_run_resumes(cluster, tmp_path, docker_client,
                                                                             python_env, cleanup_run):
    remove_workers(cluster)
    doomed = add_docker_node(cluster)
    out = tmp_path / "out"
    driver = start_driver(cluster, out, env={"RESQ_RAY_NO_DOCKER_GRACE_S": "5"})
    try:
        wait_for_running_container(docker_client, out, driver)
        cluster.remove_node(doomed, allow_graceful=False)
        _, stderr = driver.communicate(timeout=300)
    finally:
        stop_driver(driver, out, cleanup_run)
    assert driver.returncode == 2
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no node with the 'docker' resource has been left" in errors[0], stderr
    before = read_results(out / "results.jsonl")
    assert len(before) < 3
    add_docker_node(cluster)
    proc = resq(*ray_run(cluster, out), timeout=420)
    assert proc.returncode == 0, proc.stderr
    assert set(final_rows(out)) == {"add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"}
    assert read_results(out / "results.jsonl")[:len(before)] == before  # nothing written earlier was touched
    assert containers_of(docker_client, run_id(out)) == []


def remove_workers(cluster) -> None:
    for node in list(cluster.worker_nodes):
        cluster.remove_node(node, allow_graceful=False)


def start_driver(cluster, out: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "resq_runner", *ray_run(cluster, out)], cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def stop_driver(driver: subprocess.Popen, out: Path, cleanup_run: list[str]) -> None:
    """Kills a driver the test gave up on, and has the run's containers removed whatever happened."""
    if driver.poll() is None:
        driver.kill()
        driver.wait()
    if (out / "run.json").exists():
        cleanup_run.append(run_id(out))


def test_worker_node_killed_mid_run_still_gives_one_row_per_task(cluster, tmp_path, docker_client, python_env,
                                                                  cleanup_run):
    remove_workers(cluster)
    doomed = add_docker_node(cluster)
    out = tmp_path / "out"
    driver = start_driver(cluster, out)
    try:
        wait_for_running_container(docker_client, out, driver)  # on the only node with Docker
        cluster.remove_node(doomed, allow_graceful=False)
        rescue = add_docker_node(cluster)  # where the lost evaluation and the rest of the run go
        _, stderr = driver.communicate(timeout=420)
    finally:
        stop_driver(driver, out, cleanup_run)
    assert driver.returncode == 0, stderr
    rows = final_rows(out)
    assert {task: row.outcome for task, row in rows.items()} == {
        "add-invoice-discount": Outcome.passed, "fix-allocate-remainder": Outcome.passed,
        "parse-grouped-amounts": Outcome.passed}
    assert all((Path(row.log_dir) / "test_output.txt").exists() for row in rows.values())
    graded_by = {row.node for row in rows.values()}
    assert rescue.node_id in graded_by and graded_by <= {doomed.node_id, rescue.node_id}
    assert containers_of(docker_client, run_id(out)) == []  # none left, the dead node's included
    assert not list(Path(tempfile.gettempdir()).glob(f"resq-node-{run_id(out)}-*"))  # nor its scratch folder


def wait_for_running_container(docker_client, out: Path, driver: subprocess.Popen, timeout_s: float = 300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, driver.communicate()[1]
        if (out / "run.json").exists():
            # the low-level listing: containers.list() inspects each one and fails on one removed meanwhile
            if docker_client.api.containers(filters={"label": f"resq.run={run_id(out)}", "status": "running"}):
                return
        time.sleep(0.2)
    raise AssertionError("no evaluation container started on the cluster")


def test_gold_on_two_docker_nodes_equals_a_local_run(cluster, tmp_path, docker_client, python_env, cleanup_run):
    while len(cluster.worker_nodes) < 2:
        add_docker_node(cluster)
    on_cluster, local = tmp_path / "cluster", tmp_path / "local"
    resq(*ray_run(cluster, on_cluster, "--task", "parse-grouped-amounts"), check=True, timeout=420)
    cleanup_run.append(run_id(on_cluster))
    first = final_rows(on_cluster)["parse-grouped-amounts"]
    proc = resq(*ray_run(cluster, on_cluster), timeout=420)  # the same --out: resumes, as a local run does
    assert proc.returncode == 0, proc.stderr
    assert "resuming: 1 task(s) already done" in " ".join(proc.stderr.split())  # the console wraps long lines
    resq("run", str(PROJECT / "tasks" / "demo"), "--system", "gold", "-j", "2", "--out", str(local), check=True)
    cleanup_run.append(run_id(local))
    cluster_rows, local_rows = final_rows(on_cluster), final_rows(local)
    assert {row.outcome for row in cluster_rows.values()} == {Outcome.passed}
    assert set(cluster_rows) == set(local_rows) == {"add-invoice-discount", "fix-allocate-remainder",
                                                     "parse-grouped-amounts"}
    for task, row in cluster_rows.items():
        assert (row.outcome, row.tests, row.fail_to_pass, row.pass_to_pass) == (
            local_rows[task].outcome, local_rows[task].tests, local_rows[task].fail_to_pass,
            local_rows[task].pass_to_pass)
        assert row.image_digest.startswith("sha256:")
        assert row.node in {node.node_id for node in cluster.worker_nodes}
        assert (Path(row.log_dir) / "report.xml").exists()
    assert cluster_rows["parse-grouped-amounts"] == first  # not graded again
    assert len(read_results(on_cluster / "results.jsonl")) == 3
    assert containers_of(docker_client, run_id(on_cluster)) == []


def test_plain_resq_never_imports_ray():
    probe = "import sys, resq_runner.cli, resq_runner.runner; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_shipped_images_grade_on_the_cluster_with_the_drivers_image(cluster, tmp_path, docker_client, python_env,
                                                                     cleanup_run):
    while len(cluster.worker_nodes) < 1:
        add_docker_node(cluster)
    out = tmp_path / "out"
    # `auto`: the address file the cluster wrote under this module's RAY_TMPDIR
    proc = resq(*ray_run(cluster, out, "--ship-images", "--task", "parse-grouped-amounts", address="auto"),
                timeout=420)
    assert proc.returncode == 0, proc.stderr
    cleanup_run.append(run_id(out))
    task = load_suite(PROJECT / "tasks" / "demo", ["parse-grouped-amounts"])[0]
    tag = environments.task_image_tag(python_env, snapshot_hash(task), task.task.setup)
    row = final_rows(out)["parse-grouped-amounts"]
    assert row.outcome is Outcome.passed
    assert row.image_digest == docker_client.images.get(tag).id


def test_a_later_challenge_part_waits_for_its_earlier_part_on_the_cluster(cluster, tmp_path, docker_client,
                                                                          python_env, cleanup_run):
    while len(cluster.worker_nodes) < 2:
        add_docker_node(cluster)
    suite = tmp_path / "pecc"
    resq("import", "pecc", str(PROJECT / "tests" / "data" / "pecc"), "--out", str(suite), "--timeout", "8",
         check=True)
    rows = {}
    for system in ("gold", "noop"):
        out = tmp_path / system
        proc = resq(*ray_run(cluster, out, "--task", "aoc-2015-04-p2", suite=suite, system=system), timeout=420)
        assert proc.returncode == 0, proc.stderr
        cleanup_run.append(run_id(out))
        rows[system] = final_rows(out)
    part1, part2 = rows["gold"]["aoc-2015-04-p1"], rows["gold"]["aoc-2015-04-p2"]
    assert part1.outcome is part2.outcome is Outcome.passed
    assert part2.started_at >= part1.finished_at  # shown only once part 1 had passed
    assert rows["noop"]["aoc-2015-04-p1"].outcome is Outcome.failed
    assert rows["noop"]["aoc-2015-04-p2"].challenge.status == "blocked"


def test_a_budget_pilot_admits_tasks_on_the_cluster_as_they_start(cluster, tmp_path, docker_client, python_env,
                                                                   cleanup_run):
    while len(cluster.worker_nodes) < 2:
        add_docker_node(cluster)
    out = tmp_path / "out"
    # run from an empty folder: earlier gold runs of the demo under ./runs would otherwise feed the projection
    proc = resq(*ray_run(cluster, out, "--budget-tokens", "100000", "--pilot", "1", "--yes"), timeout=420,
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cleanup_run.append(run_id(out))
    rows = read_results(out / "results.jsonl")
    assert [r.outcome for r in rows].count(Outcome.skipped_budget) == 2  # the pilot admitted one task of three
    assert {r.outcome for r in final_rows(out).values()} == {Outcome.passed} and len(final_rows(out)) == 3


def test_a_shipped_image_is_loaded_only_where_its_id_is_missing(docker_client, tmp_path):
    """A node's engine: the tarball is fetched and loaded when the image id is absent, and the tag is pointed at it
    when the node built an image of its own under that tag."""
    tag = f"resq-test-ship:{secrets.token_hex(4)}"
    shipped = build_tiny_image(docker_client, tag, "shipped")
    tarball = save_image(docker_client, shipped)
    docker_client.images.remove(shipped.id, force=True)
    fetched: list[int] = []
    try:
        own = build_tiny_image(docker_client, tag, "built on the node")  # same tag, another image
        load_shipped_image(docker_client, shipped, lambda: fetched.append(1) or tarball)
        assert docker_client.images.get(tag).id == shipped.id and fetched == [1]
        load_shipped_image(docker_client, shipped, lambda: fetched.append(1) or tarball)
        assert fetched == [1]  # present now: nothing fetched again
    finally:
        for image_id in (shipped.id, own.id):
            try:
                docker_client.images.remove(image_id, force=True)
            except docker.errors.ImageNotFound:
                pass


def build_tiny_image(client, tag: str, content: str) -> ImageRef:
    context = make_tar({"Dockerfile": b"FROM scratch\nCOPY content /content\n", "content": content.encode()})
    image, _ = client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True)
    return ImageRef(tag=tag, id=image.id)


def test_an_address_where_nothing_answers_is_one_clear_error(tmp_path):
    out = tmp_path / "out"
    proc = resq("run", str(PROJECT / "tasks" / "demo"), "--system", "gold", "--executor", "ray", "--address",
                f"127.0.0.1:{free_port()}", "--out", str(out), timeout=120)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: nothing answers at the Ray address"), proc.stderr
    assert not out.exists()
