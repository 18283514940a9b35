"""The attack families of the second red-team pass, laid over the shipped suites' own repositories (tasks/demo,
tasks/py, tasks/js), are each graded `failed`; an output flood on two tasks beside gold on a third reports 1/3."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from attacks import node_families, python_families
from conftest import PROJECT, containers_of, resq
from faults import run_id_of
from resq_runner.environments import cache_dir
from resq_runner.tasks import load_task
from resq_runner.tasks.snapshots import materialize

# (suite, task whose repository is attacked, families, the file suffix of the module the tests import)
TARGETS = {"demo": ("fix-allocate-remainder", python_families, ".py"),
           "py": ("bl-lru-copy", python_families, ".py"),
           "js": ("ms-compound-durations", node_families, ".js")}


def module_under_test(task_folder: Path, suffix: str) -> str:
    """The first file the gold patch changes that is not a test: the tests import it."""
    for name in re.findall(r"^\+\+\+ b/(\S+)", (task_folder / "gold.patch").read_text(), re.M):
        if name.endswith(suffix) and not name.startswith(("test/", "tests/")):
            return name
    raise AssertionError(f"{task_folder}: the gold patch changes no {suffix} module")


def attack_patch(snapshot: Path, work: Path, files: dict[str, str]) -> str:
    shutil.copytree(snapshot, work, symlinks=True)
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    subprocess.run(["git", "add", "-A", "-f"], cwd=work, check=True)
    return subprocess.run(["git", "diff", "--cached", "--binary"], cwd=work, check=True, capture_output=True,
                          text=True).stdout


def copy_task(source: Path, target: Path, task_id: str, patch: str) -> None:
    shutil.copytree(source, target)
    task_yaml = target / "task.yaml"
    task_yaml.write_text(re.sub(r"^id: .*$", f"id: {task_id}", task_yaml.read_text(), count=1, flags=re.M))
    (target / "gold.patch").write_text(patch)


def attacked_suite(tmp_path: Path, suite: str) -> Path:
    task_id, families, suffix = TARGETS[suite]
    source = PROJECT / "tasks" / suite / task_id
    snapshot = materialize(load_task(source, suite), cache_dir())
    module = module_under_test(source, suffix)
    out = tmp_path / f"attacks-{suite}"
    out.mkdir()
    if (PROJECT / "tasks" / suite / "_snapshots").is_dir():
        shutil.copytree(PROJECT / "tasks" / suite / "_snapshots", out / "_snapshots")
    for family, files in families(module, (snapshot / module).read_text()).items():
        copy_task(source, out / family, family, attack_patch(snapshot, tmp_path / "work" / family, files))
    return out


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("suite", sorted(TARGETS))
def test_every_family_is_graded_failed_on_the_shipped_suites(suite, tmp_path, python_env, docker_client,
                                                              cleanup_run):
    attacked = attacked_suite(tmp_path, suite)
    out = tmp_path / "run"
    proc = resq("run", str(attacked), "--system", "gold", "--out", str(out), "-j", "2", timeout=1500)
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    final = {r["task_id"]: r for r in rows(out)}
    families = sorted(p.name for p in attacked.iterdir() if (p / "task.yaml").exists())
    assert sorted(final) == families
    for family, row in final.items():
        assert row["outcome"] in ("failed", "patch_failed"), (family, row["outcome"], row["reason"])
    assert not containers_of(docker_client, run_id_of(out))


def test_an_output_flood_cannot_inflate_the_pass_rate(tmp_path, python_env, docker_client, cleanup_run):
    """Flooding the report on two tasks used to turn them into infra_error rows that left the denominator."""
    demo = PROJECT / "tasks" / "demo"
    suite = tmp_path / "inflation"
    suite.mkdir()
    shutil.copytree(demo / "_snapshots", suite / "_snapshots")
    snapshot = materialize(load_task(demo / "fix-allocate-remainder", "demo"), cache_dir())
    for task_id in ("add-invoice-discount", "parse-grouped-amounts"):
        module = module_under_test(demo / task_id, ".py")
        flood = python_families(module, (snapshot / module).read_text())["output-flood"]
        copy_task(demo / task_id, suite / task_id, task_id, attack_patch(snapshot, tmp_path / task_id, flood))
    shutil.copytree(demo / "fix-allocate-remainder", suite / "fix-allocate-remainder")
    out = tmp_path / "inflation-run"
    proc = resq("run", str(suite), "--system", "gold", "--out", str(out), "-j", "3", "--retries", "0")
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    outcomes = {r["task_id"]: r["outcome"] for r in rows(out)}
    assert outcomes == {"add-invoice-discount": "failed", "parse-grouped-amounts": "failed",
                        "fix-allocate-remainder": "passed"}
    assert "1/3 graded" in proc.stdout
    report = resq("report", str(out), check=True)
    assert "33.3%" in report.stdout and "(1/3;" in report.stdout
