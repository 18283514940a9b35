"""Task certificates: `resq tasks certify` in real containers, the warning and refusal of `resq run`, and the
certificate status in reports."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

import yaml

from conftest import resq
from resq_runner.certification import decide
from resq_runner.models import Outcome, Result, SystemSpec, TestStatus, Timings
from resq_runner.tasks import load_suite

TASKS = ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"]


def certificate(suite: Path, task: str) -> dict:
    return json.loads((suite / task / "certificate.json").read_text())


def test_certify_then_run_warns_refuses_and_reports_status(demo_copy, tmp_path, docker_client, python_env):
    proc = resq("tasks", "certify", str(demo_copy), "--runs", "2", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3 task(s) certified" in proc.stdout
    for task in TASKS:
        cert = certificate(demo_copy, task)
        assert cert["certified"] is True and cert["verdict"] == "certified"
        assert [(r["system"], r["outcome"]) for r in cert["runs"]] == [("gold", "passed")] * 2 + [("noop", "failed")]
        assert cert["gold_runs"] == 2 and cert["flake_rate"] == 0.0 and cert["flaky_tests"] == []
        assert cert["gold_test_runtime_s"] > 0 and cert["runner_version"] and cert["date"]
        assert docker_client.images.get(cert["digests"]["image_tag"]).id == cert["digests"]["image_id"]

    current = resq("run", str(demo_copy), "--system", "noop", "--task", "fix-allocate-remainder",
                   "--out", str(tmp_path / f"current-{secrets.token_hex(2)}"), "--require-certified")
    assert current.returncode == 0, current.stderr
    assert "no current certificate" not in current.stderr

    hidden = next((demo_copy / "parse-grouped-amounts" / "hidden").rglob("*.py"))
    hidden.write_text(hidden.read_text() + "\n# changed after certification\n")
    out = tmp_path / f"warned-{secrets.token_hex(2)}"
    warned = resq("run", str(demo_copy), "--system", "noop", "--out", str(out), "-j", "2")
    assert warned.returncode == 0, warned.stderr
    text = " ".join(warned.stderr.split())
    assert "warning: 1 of 3 task(s) have no current certificate: parse-grouped-amounts (stale (task_files, " \
           "hidden_tests changed))" in text and f"resq tasks certify {demo_copy}" in text

    refused_out = tmp_path / "refused"
    refused = resq("run", str(demo_copy), "--system", "noop", "--out", str(refused_out), "--require-certified")
    assert refused.returncode == 2
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "--require-certified" in line and "parse-grouped-amounts" in line
    assert not (refused_out / "results.jsonl").exists()

    report = json.loads(resq("report", str(out), "--json", check=True).stdout)
    status = {task["task_id"]: task["certificate"] for task in report["tasks"]}
    assert status == {"add-invoice-discount": "current", "fix-allocate-remainder": "current",
                      "parse-grouped-amounts": "stale (task_files, hidden_tests changed)"}
    assert "certificate" in resq("report", str(out), check=True).stdout


def test_broken_tasks_get_the_right_verdicts(demo_copy, python_env):
    allocate = demo_copy / "fix-allocate-remainder" / "task.yaml"
    data = yaml.safe_load(allocate.read_text())
    data["success"] = {"pass_to_pass": ["tests/test_money.py::test_add_and_subtract"]}  # noop passes that
    allocate.write_text(yaml.safe_dump(data))
    parse = demo_copy / "parse-grouped-amounts"
    quoted = next(line.strip() for file in (parse / "hidden").rglob("*.py") for line in file.read_text().splitlines()
                  if len(line.strip()) >= 30)
    data = yaml.safe_load((parse / "task.yaml").read_text())
    data["instruction"] += f"\nMake this hold: {quoted}\n"
    (parse / "task.yaml").write_text(yaml.safe_dump(data))

    proc = resq("tasks", "certify", str(demo_copy), "--runs", "1", "-j", "2")
    assert proc.returncode == 1
    assert "1 of 3 task(s) certified" in proc.stdout
    assert certificate(demo_copy, "add-invoice-discount")["certified"] is True
    noop_passes = certificate(demo_copy, "fix-allocate-remainder")
    assert noop_passes["certified"] is False and noop_passes["verdict"].startswith("invalid: noop passes")
    leaked = certificate(demo_copy, "parse-grouped-amounts")
    assert leaked["verdict"].startswith("invalid: the instruction quotes hidden test code")


def _row(system: str, outcome: Outcome, tests: dict[str, TestStatus]) -> Result:
    when = datetime.now(timezone.utc)
    return Result(run_id="r", task_id="t", task_hash="h", system=SystemSpec(name=system), outcome=outcome,
                  tests=tests, started_at=when, finished_at=when, timings=Timings(eval_tests=1.0))


def test_a_gold_patch_that_passes_some_runs_is_flaky_with_its_flake_rate():
    from resq_runner.certification import TaskChecks

    (tf,) = load_suite(Path(__file__).resolve().parents[1] / "tasks" / "demo", ["fix-allocate-remainder"])
    ok, bad = {"a": TestStatus.passed, "b": TestStatus.passed}, {"a": TestStatus.passed, "b": TestStatus.failed}
    checks = TaskChecks(gold=[_row("gold", Outcome.passed, ok), _row("gold", Outcome.failed, bad),
                              _row("gold", Outcome.passed, ok), _row("gold", Outcome.passed, ok)],
                        noop=[_row("noop", Outcome.failed, bad)])
    cert = decide(tf, checks)
    assert cert.verdict == "flaky: gold passes 3 of 4" and cert.certified is False
    assert cert.flake_rate == 0.25 and cert.flaky_tests == ["b"] and cert.gold_test_runtime_s == 1.0
