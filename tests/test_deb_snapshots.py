"""Snapshots from Debian packages: `apt-get download`, sha256 check, `dpkg-deb -x`, the library folder as a
one-commit repository. Real apt, real dpkg-deb, real git."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import resq
from resq_runner.errors import TaskError
from resq_runner.tasks import load_task
from resq_runner.tasks.snapshots import fetch_deb, materialize

MS = yaml.safe_load((Path(__file__).resolve().parents[1] / "tasks/js/ms-format-unit-boundaries/task.yaml")
                    .read_text())["snapshot"]


def deb_task(tmp_path: Path, **snapshot) -> object:
    task = tmp_path / "suite" / "t"
    (task / "hidden").mkdir(parents=True)
    (task / "task.yaml").write_text(yaml.safe_dump({
        "instruction": "x", "snapshot": {"kind": "deb", **snapshot}, "environment": {"name": "node"},
        "tests": {"framework": "node", "command": "node --test test/"}}))
    return load_task(task, suite="suite")


def test_a_node_package_becomes_a_one_commit_repository(tmp_path):
    work = materialize(deb_task(tmp_path, **MS), tmp_path / "cache")
    assert sorted(p.name for p in work.iterdir() if p.name != ".git") == ["index.js", "package.json"]
    log = subprocess.run(["git", "log", "--format=%s"], cwd=work, capture_output=True, text=True).stdout
    assert log.splitlines() == ["snapshot"]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=work, capture_output=True,
                          text=True).stdout == ""


def test_a_package_with_another_hash_is_refused(tmp_path):
    tf = deb_task(tmp_path, **{**MS, "sha256": "0" * 64})
    with pytest.raises(TaskError, match=r"t/task.yaml: node-ms_.*\.deb has sha256 [0-9a-f]{64}, not the 0{64}"):
        materialize(tf, tmp_path / "cache")


def test_an_unknown_version_is_one_clear_error(tmp_path):
    with pytest.raises(TaskError, match="cannot download the Debian package node-ms=0.0.0-nope"):
        fetch_deb("node-ms", "0.0.0-nope", None)


def test_tasks_new_records_the_package_hash(tmp_path):
    proc = resq("tasks", "new", str(tmp_path / "js"), "new-ms-task", "--snapshot", "deb:node-ms")
    assert proc.returncode == 0, proc.stderr
    task = tmp_path / "js" / "new-ms-task"
    data = yaml.safe_load((task / "task.yaml").read_text())
    deb = fetch_deb(data["snapshot"]["package"], data["snapshot"]["version"], None)
    assert data["snapshot"]["sha256"] == hashlib.sha256(deb.read_bytes()).hexdigest()
    assert data["environment"] == {"name": "node"} and data["tests"]["framework"] == "node"
    assert "module.exports" in (task / ".work" / "index.js").read_text()
