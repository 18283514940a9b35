"""A regular (non-editable) install runs the demo suite: the harness and the environment definitions ship inside
the wheel, so nothing is read from a checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import DEMO, PROJECT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOP_LEVEL_SKIPPED = {".venv", ".git", "runs", "build", "bench", "tests", "tasks", ".pytest_cache"}


def _skip(folder: str, names: list[str]) -> set[str]:
    top = {name for name in names if name in TOP_LEVEL_SKIPPED} if folder == str(PROJECT) else set()
    return top | {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the source tree (the build writes next to the sources)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(PROJECT, source, ignore=_skip)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp / "dist"), str(source)], check=True, capture_output=True, timeout=600)
    return next((tmp / "dist").glob("resq_runner-*.whl"))


def test_wheel_holds_the_harness_and_the_environments(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("harness", "_harness"), ("environments", "_environments")):
        tracked = subprocess.run(["git", "ls-files", folder], cwd=PROJECT, capture_output=True, text=True,
                                 check=True).stdout.split()
        assert tracked
        for path in tracked:
            assert f"resq_runner/{package}/{path.split('/', 1)[1]}" in names, path


def test_installed_wheel_runs_the_demo_suite(wheel, tmp_path, docker_client):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=900)
    work = tmp_path / "elsewhere"  # no checkout around: the installed package alone
    shutil.copytree(DEMO, work / "tasks" / "demo")
    proc = subprocess.run([str(venv / "bin" / "resq"), "run", "tasks/demo", "--system", "gold", "--out", "out"],
                          cwd=work, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in (work / "out" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len([d for d in DEMO.iterdir() if (d / "task.yaml").exists()])
    assert {row["outcome"] for row in rows} == {"passed"}
