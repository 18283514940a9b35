"""Per-test verdicts and phase overhead as a contract: real noop/gold runs of the demo suite through the real CLI,
`resq report --json` phases and overhead, and `resq export ctrf`."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import resq
from resq_runner.grading.reports import junit_test_id
from resq_runner.models import TestStatus, Timings
from resq_runner.reports.phases import PHASES, overhead_seconds, phase_seconds
from resq_runner.results import final_results, read_results


def test_phases_add_up_to_the_task_wall_time_and_overhead_leaves_out_system_and_tests():
    timings = Timings(image=1.0, system=5.0, eval_start=0.5, eval_run=3.0, eval_collect=0.25, teardown=0.25,
                      eval_apply=0.5, eval_tests=2.0)
    phases = phase_seconds(timings)
    assert list(phases) == list(PHASES)
    assert phases == {"image": 1.0, "start": 1.0, "system": 5.0, "apply": 0.5, "tests": 2.0, "teardown": 0.5}
    assert sum(phases.values()) == pytest.approx(timings.total())
    assert overhead_seconds(timings) == pytest.approx(10.0 - 5.0 - 2.0)


def test_rows_without_harness_step_times_count_the_whole_harness_run_as_tests():
    phases = phase_seconds(Timings(eval_start=1.0, eval_run=4.0))
    assert phases["tests"] == 4.0 and phases["apply"] == 0.0 and phases["start"] == 1.0


@pytest.fixture(scope="module")
def noop_run(tmp_path_factory, python_env):
    out = tmp_path_factory.mktemp("contract") / f"noop-{secrets.token_hex(3)}"
    resq("run", "demo", "--system", "noop", "--out", str(out), "-j", "2", check=True)
    return out


def test_report_publishes_time_per_phase_and_the_harness_overhead(noop_run):
    report = json.loads(resq("report", str(noop_run), "--json", check=True).stdout)
    rows = list(final_results(read_results(noop_run / "results.jsonl")).values())
    phases = {p["stage"]: p["total_s"] for p in report["phases"]}
    assert list(phases) == list(PHASES)
    assert sum(phases.values()) == pytest.approx(sum(r.timings.total() for r in rows), rel=1e-6)
    assert phases["apply"] > 0 and phases["tests"] > 0  # measured by the harness inside the eval container
    expected = sum(r.timings.total() - r.timings.system - r.timings.eval_tests for r in rows)
    assert report["overhead"]["total_s"] == pytest.approx(expected, rel=1e-6)
    assert report["overhead"]["tasks"] == 3
    assert all(task["overhead_s"] > 0 for task in report["tasks"])
    text = " ".join(resq("report", str(noop_run), check=True).stdout.split())
    assert "time per phase" in text and "harness overhead" in text and "total − system − tests" in text


def test_ctrf_export_carries_every_per_test_verdict(noop_run, tmp_path):
    out = tmp_path / "ctrf.json"
    proc = resq("export", "ctrf", str(noop_run), "--out", str(out), check=True)
    data = json.loads(out.read_text())
    assert data["reportFormat"] == "CTRF"
    results = data["results"]
    assert results["tool"]["name"] == "resq-runner"
    rows = list(final_results(read_results(noop_run / "results.jsonl")).values())
    expected = {f"{r.task_id}::{test}": status for r in rows for test, status in r.tests.items()}
    got = {t["name"]: t["status"] for t in results["tests"]}
    assert set(got) == set(expected)
    for name, status in expected.items():
        assert got[name] == {TestStatus.passed: "passed", TestStatus.skipped: "skipped",
                             TestStatus.missing: "other"}.get(status, "failed")
    summary = results["summary"]
    assert summary["tests"] == len(expected)
    assert summary["failed"] == sum(s in (TestStatus.failed, TestStatus.error) for s in expected.values()) > 0
    assert summary["passed"] == sum(s is TestStatus.passed for s in expected.values()) > 0
    assert summary["start"] <= summary["stop"]
    criteria = {t["name"]: t["extra"].get("criterion") for t in results["tests"]}
    allocate = next(r for r in rows if r.task_id == "fix-allocate-remainder")
    for test in allocate.fail_to_pass:
        assert criteria[f"fix-allocate-remainder::{test}"] == "FAIL_TO_PASS"
    junit_ms = sum(float(case.get("time", 0)) * 1000 for r in rows
                   for case in ET.parse(Path(r.log_dir) / "report.xml").iter("testcase"))
    canary_ms = sum(float(case.get("time", 0)) * 1000 for r in rows
                    for case in ET.parse(Path(r.log_dir) / "report.xml").iter("testcase")
                    if f"{r.task_id}::{junit_test_id(case.attrib)}" not in expected)
    # durations are read from the kept JUnit reports (pytest rounds them to the millisecond)
    assert sum(t["duration"] for t in results["tests"]) == pytest.approx(junit_ms - canary_ms, abs=1e-6)
    assert f"{len(expected)} test(s)" in proc.stdout


def test_ctrf_export_of_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path):
    proc = resq("export", "ctrf", str(tmp_path))
    assert proc.returncode == 2
    assert "not a run folder" in proc.stderr and "Traceback" not in proc.stderr
