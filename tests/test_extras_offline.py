"""Verified offline mode: the demo suite runs inside a network namespace with nothing but loopback (`unshare -n`)
after a preparing step with network, and whatever is missing is one clear error line, never a hang."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import DEMO, PROJECT, containers_of
from resq_runner.models import Outcome
from resq_runner.results import final_results, read_results

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")


def resq_without_network(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """The real CLI in a new network namespace: only a loopback interface, no route anywhere. The Docker daemon is
    still reached through its unix socket."""
    import os

    return subprocess.run(["unshare", "-n", sys.executable, "-m", "resq_runner", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_the_namespace_really_has_no_network():
    probe = "import socket\ntry:\n socket.create_connection(('1.1.1.1', 53), timeout=5)\n print('reached')\n" \
            "except OSError as e:\n print('unreachable', e.errno)"
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert proc.stdout.startswith("unreachable"), proc.stdout + proc.stderr


def test_demo_suite_runs_offline_after_a_preparing_step(tmp_path, python_env, docker_client, cleanup_run):
    prepare = subprocess.run([sys.executable, "-m", "resq_runner", "env", "build", "--suite", "demo"], cwd=PROJECT,
                             capture_output=True, text=True, timeout=900)
    assert prepare.returncode == 0, prepare.stderr
    again = resq_without_network("env", "build", "--suite", "demo", "--offline")
    assert again.returncode == 0, again.stderr  # everything it needs is here now
    out = tmp_path / f"offline-{secrets.token_hex(3)}"
    proc = resq_without_network("run", "demo", "--system", "gold", "--offline", "--out", str(out), "-j", "2")
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    cleanup_run.append(run_id)
    assert proc.returncode == 0, proc.stderr
    final = final_results(read_results(out / "results.jsonl"))
    assert len(final) == 3 and all(row.outcome is Outcome.passed for row in final.values())
    assert containers_of(docker_client, run_id) == []


@pytest.fixture
def environments_with_an_uncached_wheel(tmp_path):
    """The project's environment definitions plus one that needs a wheel the (empty) cache does not hold."""
    definitions = tmp_path / "environments"
    shutil.copytree(PROJECT / "environments", definitions)
    (definitions / "needs-wheel").mkdir()
    (definitions / "needs-wheel" / "environment.yaml").write_text(yaml.safe_dump(
        {"name": "needs-wheel", "pip_requirements": ["tabulate==0.9.0", f"resq-marker-{secrets.token_hex(2)}"]}))
    cache = tmp_path / "cache"
    cache.mkdir()
    return {"RESQ_ENVIRONMENTS": str(definitions), "RESQ_CACHE": str(cache)}


def test_a_missing_wheel_under_offline_is_one_clear_error_not_a_hang(environments_with_an_uncached_wheel,
                                                                     python_env):
    proc = resq_without_network("env", "build", "needs-wheel", "--offline", env=environments_with_an_uncached_wheel,
                                timeout=120)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "offline:" in line and "tabulate==0.9.0" in line and "resq env build" in line
    assert "Traceback" not in proc.stderr


def test_a_task_needing_a_missing_wheel_refuses_the_run_with_the_preparing_command(
        environments_with_an_uncached_wheel, tmp_path, python_env):
    suite = tmp_path / "suite"
    shutil.copytree(DEMO, suite)
    for folder in ("add-invoice-discount", "parse-grouped-amounts"):
        shutil.rmtree(suite / folder)
    task_file = suite / "fix-allocate-remainder" / "task.yaml"
    task_file.write_text(task_file.read_text().replace("environment: {name: python}",
                                                       "environment: {name: needs-wheel}"))
    proc = resq_without_network("run", str(suite), "--system", "gold", "--offline", "--out", str(tmp_path / "run"),
                                env=environments_with_an_uncached_wheel, timeout=120)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "tabulate==0.9.0" in line and "resq env build" in line


def test_a_remote_git_snapshot_under_offline_is_refused_before_any_fetch(tmp_path, python_env):
    suite = tmp_path / "suite"
    shutil.copytree(DEMO, suite)
    task_file = suite / "fix-allocate-remainder" / "task.yaml"
    url = f"https://git.example.org/ledgerlite-{secrets.token_hex(3)}.git"
    task_file.write_text(task_file.read_text().replace(
        "snapshot: {kind: dir, path: ../_snapshots/ledgerlite}", f"snapshot: {{kind: git, url: '{url}', commit: "
                                                                 f"0123456789abcdef0123456789abcdef01234567}}"))
    proc = resq_without_network("run", str(suite), "--system", "gold", "--offline", "--out", str(tmp_path / "run"),
                                "--task", "fix-allocate-remainder", timeout=120)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert url in line and "fix-allocate-remainder" in line and f"resq env build --suite {suite}" in line


def test_a_remote_model_endpoint_under_offline_is_refused(tmp_path):
    proc = resq_without_network("run", "demo", "--system", "llm", "--model", "m", "--base-url",
                                "https://api.example.org/v1", "--api-key-env", "", "--offline",
                                "--out", str(tmp_path / "run"), timeout=120)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "https://api.example.org/v1" in line and "127.0.0.1" in line


def test_offline_workspace_containers_have_no_network(tmp_path, python_env):
    out = tmp_path / f"agent-{secrets.token_hex(3)}"
    proc = resq_without_network("run", "demo", "--system", "command", "--task", "fix-allocate-remainder",
                                "--agent-cmd", "ls /sys/class/net > INTERFACES.txt", "--offline", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    patch = (out / "logs" / "fix-allocate-remainder" / "patch.diff").read_text()
    added = [line[1:] for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["lo"]


def test_on_host_agents_are_refused_offline(tmp_path):
    proc = resq_without_network("run", "demo", "--system", "command", "--agent-cmd", "true", "--on-host",
                                "--offline", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "--on-host" in line and "offline" in line


def test_an_environment_builds_offline_from_cached_wheels(tmp_path, python_env, docker_client):
    """The python environment's wheels are in the cache (python_env built it): a new environment needing the same
    wheels builds with no network, its build container included."""
    definitions = tmp_path / "environments"
    shutil.copytree(PROJECT / "environments", definitions)
    marker = secrets.token_hex(4)  # a new definition, so a new image tag: this really builds
    python = yaml.safe_load((definitions / "python" / "environment.yaml").read_text())
    (definitions / "local-wheels").mkdir()
    (definitions / "local-wheels" / "environment.yaml").write_text(yaml.safe_dump(
        {"name": "local-wheels", "description": f"offline build check {marker}",
         "pip_requirements": python["pip_requirements"]}))
    proc = resq_without_network("env", "build", "local-wheels", "--offline", env={"RESQ_ENVIRONMENTS": str(definitions)})
    assert proc.returncode == 0, proc.stderr
    assert "building resq-env-local-wheels:" in proc.stderr
    tag = proc.stdout.split()[1]
    try:
        output = docker_client.containers.run(tag, ["python", "-m", "pytest", "--version"], remove=True,
                                              network_mode="none")
        assert b"pytest" in output
    finally:
        docker_client.images.remove(tag)
