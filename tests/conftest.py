"""Shared fixtures. Everything is real: the Docker engine, git, subprocesses; only LLMs are scripted servers.

Markers (pyproject.toml): `docker` (needs an engine), `ray` (starts a Ray cluster), `slow`. A test whose fixtures
reach `docker_client` is marked `docker` here, and skips with the reason when no engine answers, so
`pytest -m "not docker"` runs the fast tier (scheduling, grading decisions, reports, formats, the llm edit
parser) in seconds on a machine without Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resq_runner import environments
from resq_runner.errors import SetupError
from resq_runner.sandbox import connect, remove_run_containers

PROJECT = Path(__file__).resolve().parents[1]
DEMO = PROJECT / "tasks" / "demo"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def docker_client():
    """The local engine; with none reachable every test that needs it skips, saying why."""
    try:
        return connect()
    except SetupError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def python_env(docker_client):
    """The `python` environment image (built once; later sessions reuse it by its content-hash tag)."""
    return environments.ensure_environment(docker_client, "python", log=lambda _m: None)


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """A private copy of the demo suite that a test may change."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target


def resq(*args: str, cwd: Path = PROJECT, check: bool = False, timeout: float = 600,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real `resq` command line in a subprocess (`env` adds to the current environment)."""
    proc = subprocess.run([sys.executable, "-m", "resq_runner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "240", **(env or {})})  # no wraps in tmp paths
    if check and proc.returncode != 0:
        raise AssertionError(f"resq {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def containers_of(client, run_id: str) -> list:
    # sparse: no inspect per container, which raced with the run removing its containers (404 mid-list)
    return client.containers.list(all=True, sparse=True, filters={"label": f"resq.run={run_id}"})


@pytest.fixture
def cleanup_run(docker_client):
    """Collects run ids a test starts and removes their containers afterwards, whatever happened."""
    run_ids: list[str] = []
    yield run_ids
    for run_id in run_ids:
        remove_run_containers(docker_client, run_id)
