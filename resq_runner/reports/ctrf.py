"""`resq export ctrf RUN`: a run's per-test verdicts as CTRF JSON (Common Test Report Format, https://ctrf.io).

One CTRF test per hidden test of each task (named `TASK::TEST_ID`, with the task as its suite); a task with no
per-test verdict (patch_failed, system_error, skipped_budget, ...) is one test named by the task, carrying the
reason. Durations come from the task's JUnit report when it is kept in the run folder.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from .. import __version__
from ..grading.reports import junit_test_id
from ..models import Outcome, Result, TestStatus
from ..results import RunPaths
from .report import LoadedRun

CtrfStatus = Literal["passed", "failed", "skipped", "pending", "other"]
TEST_STATUS: dict[TestStatus, CtrfStatus] = {
    TestStatus.passed: "passed", TestStatus.failed: "failed", TestStatus.error: "failed",
    TestStatus.skipped: "skipped", TestStatus.missing: "other"}


class CtrfTool(BaseModel):
    name: str = "resq-runner"
    version: str = __version__


class CtrfSummary(BaseModel):
    tests: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    other: int = 0
    start: int = 0  # milliseconds since the epoch
    stop: int = 0


class CtrfTest(BaseModel):
    name: str
    status: CtrfStatus
    duration: float  # milliseconds
    suite: str = ""
    message: str | None = None
    extra: dict[str, str] = {}


class CtrfResults(BaseModel):
    tool: CtrfTool = CtrfTool()
    summary: CtrfSummary
    tests: list[CtrfTest]
    environment: dict[str, str] = {}


class CtrfReport(BaseModel):
    reportFormat: Literal["CTRF"] = "CTRF"
    specVersion: str = "0.0.0"
    results: CtrfResults


def ctrf_report(run: LoadedRun) -> CtrfReport:
    tests = [test for row in run.rows for test in _tests_of(run, row)]
    summary = CtrfSummary(tests=len(tests))
    for test in tests:
        setattr(summary, test.status, getattr(summary, test.status) + 1)
    if run.rows:
        summary.start = int(min(row.started_at for row in run.rows).timestamp() * 1000)
        summary.stop = int(max(row.finished_at for row in run.rows).timestamp() * 1000)
    environment = {"suite": run.suite, "system": run.system, "runId": run.run_id}
    return CtrfReport(results=CtrfResults(summary=summary, tests=tests, environment=environment))


def _tests_of(run: LoadedRun, row: Result) -> list[CtrfTest]:
    task = row.task_id + (f"#{row.sample}" if row.sample else "")
    extra = {"outcome": row.outcome.value, "sample": str(row.sample)}
    if not row.tests:
        status: CtrfStatus = ("skipped" if row.outcome is Outcome.skipped_budget else
                              "other" if row.outcome is Outcome.infra_error else
                              "passed" if row.outcome is Outcome.passed else "failed")
        return [CtrfTest(name=task, status=status, duration=row.timings.total() * 1000, suite=task,
                         message=row.reason or None, extra=extra)]
    durations = _junit_durations(run, row)
    return [CtrfTest(name=f"{task}::{test_id}", status=TEST_STATUS[status], duration=durations.get(test_id, 0.0),
                     suite=task, extra={**extra, **_criterion(row, test_id)})
            for test_id, status in row.tests.items()]


def _criterion(row: Result, test_id: str) -> dict[str, str]:
    if test_id in row.fail_to_pass:
        return {"criterion": "FAIL_TO_PASS"}
    if test_id in row.pass_to_pass:
        return {"criterion": "PASS_TO_PASS"}
    return {}


def _junit_durations(run: LoadedRun, row: Result) -> dict[str, float]:
    report = RunPaths(run.root).task_logs(row.task_id, row.attempt, row.sample) / "report.xml"
    if not report.is_file():
        return {}
    try:
        root = ET.fromstring(report.read_bytes())
    except ET.ParseError:
        return {}
    durations: dict[str, float] = {}
    for case in root.iter("testcase"):
        try:
            seconds = float(case.attrib.get("time", "0") or 0)
        except ValueError:
            seconds = 0.0
        test_id = junit_test_id(case.attrib)
        durations[test_id] = durations.get(test_id, 0.0) + seconds * 1000
    return durations


def write_ctrf(run: LoadedRun, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(ctrf_report(run).model_dump_json(indent=2, exclude_none=True))
    temporary.replace(out)
    return out
