"""Pure functions from structured test reports to per-test statuses and a verdict. No I/O, no Docker."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Sequence, TypedDict

from ..models import HarnessStatus, Outcome, Success, TestStatus, Verdict
from .canaries import Canaries


class ReportError(ValueError):
    pass


def parse_junit(xml: bytes) -> dict[str, TestStatus]:
    """Test id → status from JUnit XML. Ids are pytest node ids where the report names the file."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ReportError(f"the JUnit report is not valid XML ({exc})") from exc
    statuses: dict[str, TestStatus] = {}
    for case in root.iter("testcase"):
        test_id = junit_test_id(case.attrib)
        status = _case_status(case)
        previous = statuses.get(test_id)
        statuses[test_id] = status if previous in (None, TestStatus.passed) else previous
    return statuses


SCRIPT_TEST_ID = "test_script"


def parse_script_report(report: bytes) -> dict[str, TestStatus]:
    """A test script's report (written by the harness): it passed only if it exited 0 and printed the secret."""
    try:
        data = json.loads(report)
        passed = data["exit_code"] == 0 and data["secret_printed"] is True
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"the test script report is not the harness's JSON ({exc})") from exc
    return {SCRIPT_TEST_ID: TestStatus.passed if passed else TestStatus.failed}


def junit_test_id(attrib: dict[str, str]) -> str:
    name, classname, file = attrib.get("name", ""), attrib.get("classname", ""), attrib.get("file")
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    if classname == module or classname.startswith(module + "."):
        inner = classname[len(module):].lstrip(".")
        return "::".join([file, *(inner.split(".") if inner else []), name])
    # A test inherited from a class in another file: `file` names where it is defined, the classname where it runs.
    parts = classname.split(".")
    split = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    return "::".join(["/".join(parts[:split]) + ".py", *parts[split:], name])


NODE_STATUSES = {"passed": TestStatus.passed, "failed": TestStatus.failed, "skipped": TestStatus.skipped}


def parse_node_report(report: bytes) -> dict[str, TestStatus]:
    """Test id → status from harness/node_reporter.mjs's JSON lines. Ids are `file::suite::test` (like pytest's
    node ids); a test file that failed as a whole (a syntax error, a crash) is listed under its path alone."""
    statuses: dict[str, TestStatus] = {}
    for number, line in enumerate(report.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            test_id = "::".join([entry["file"], *entry["path"]])
            status = NODE_STATUSES[entry["status"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"line {number} of the node test report is not a test entry ({exc})") from exc
        previous = statuses.get(test_id)
        statuses[test_id] = status if previous in (None, TestStatus.passed) else previous
    return statuses


def _case_status(case: ET.Element) -> TestStatus:
    tags = {child.tag for child in case}
    if "error" in tags:
        return TestStatus.error
    if "failure" in tags:
        return TestStatus.failed
    if "skipped" in tags:
        return TestStatus.skipped
    return TestStatus.passed


def decide(status: HarnessStatus, tests: dict[str, TestStatus], success: Success, *,
           oom_killed: bool = False, canary: Canaries | None = None, hidden: Sequence[str] = (),
           memory: str = "") -> Verdict:
    """The outcome of one evaluation. The exit code alone never passes a task: a report must say so."""
    canaries = canary.statuses(tests) if canary is not None and canary.ids else {}
    tests = {t: s for t, s in tests.items() if t not in canaries}
    verdict = _decide(status, tests, success, oom_killed=oom_killed, hidden=hidden, memory=memory,
                      canary_status=TestStatus.failed if canaries else None)
    forged = _forged_canary(canaries, tests) if status.report_found else None
    if forged and verdict.outcome in (Outcome.passed, Outcome.failed) and not status.note:
        test_id, seen = forged
        return verdict.model_copy(update={
            "outcome": Outcome.failed,
            "reason": f"the test report cannot be trusted: the harness's canary test {test_id}, which must fail, "
                      f"came back {seen.value} (the test framework or its report was tampered with)"})
    return _with_findings(verdict, status)


def _with_findings(verdict: Verdict, status: HarnessStatus) -> Verdict:
    """A failure names what the patch tried that the harness disarmed (protected paths put back, inert files)."""
    findings = []
    if status.restored:
        findings.append(f"protected paths put back as the snapshot had them: {', '.join(status.restored[:5])}")
    if status.inert_files and not status.note:  # a note (the witness's) already names what was loaded
        findings.append(f"added files the grader does not let steer the tests: {', '.join(status.inert_files[:5])}")
    if not findings or verdict.outcome is not Outcome.failed:
        return verdict
    return verdict.model_copy(update={"reason": f"{verdict.reason}; disarmed: {'; '.join(findings)}"})


def _forged_canary(canaries: dict[str, TestStatus], tests: dict[str, TestStatus]) -> tuple[str, TestStatus] | None:
    """A canary that passed or was skipped, or went missing while other tests passed."""
    for test_id, seen in canaries.items():
        if seen in (TestStatus.passed, TestStatus.skipped):
            return test_id, seen
        if seen is TestStatus.missing and TestStatus.passed in tests.values():
            return test_id, seen
    return None


class _Statuses(TypedDict):
    tests: dict[str, TestStatus]
    fail_to_pass: dict[str, TestStatus]
    pass_to_pass: dict[str, TestStatus]


def _decide(status: HarnessStatus, tests: dict[str, TestStatus], success: Success, *, oom_killed: bool,
            hidden: Sequence[str], memory: str, canary_status: TestStatus | None) -> Verdict:
    if not status.applied:
        return Verdict(outcome=Outcome.patch_failed, reason=_first_error(status.apply_log) or "patch did not apply")
    if status.note:
        return Verdict(outcome=Outcome.failed, reason=status.note)
    if status.timed_out:
        return Verdict(outcome=Outcome.timed_out, reason="tests did not finish before the task's timeout",
                       tests=tests)
    listed = success.fail_to_pass or success.pass_to_pass
    f2p = {t: tests.get(t, TestStatus.missing) for t in success.fail_to_pass}
    p2p = {t: tests.get(t, TestStatus.missing) for t in success.pass_to_pass}
    verdict = _Statuses(tests=tests, fail_to_pass=f2p, pass_to_pass=p2p)
    if oom_killed:
        return Verdict(outcome=Outcome.failed, reason=f"tests ran out of memory (container memory limit {memory})",
                       **verdict)
    if status.killed_by == "SIGKILL" and not status.report_found:
        return Verdict(outcome=Outcome.failed, reason=f"the test command was killed (SIGKILL), most likely by the "
                       f"memory limit ({memory})", **verdict)
    if not status.report_found:
        return Verdict(outcome=Outcome.failed,
                       reason=f"no test report was written (test command exit code {status.test_exit})", **verdict)
    if listed:
        bad: dict[str, TestStatus] = {t: s for t, s in {**f2p, **p2p}.items() if s is not TestStatus.passed}
        if bad:
            return Verdict(outcome=Outcome.failed, reason=_summarise(bad), **verdict)
        return Verdict(outcome=Outcome.passed, **verdict)
    if not tests:
        return Verdict(outcome=Outcome.failed, reason="the test report lists no tests", **verdict)
    bad = {t: s for t, s in tests.items() if s in (TestStatus.failed, TestStatus.error)}
    bad.update(_hidden_not_passed(hidden, tests))
    if bad:
        return Verdict(outcome=Outcome.failed, reason=_summarise(bad), **verdict)
    expected_exit = 0 if canary_status is None else 1  # pytest exits 1 when a test (the canary) failed
    if status.test_exit != expected_exit:
        return Verdict(outcome=Outcome.failed,
                       reason=f"test command exited {status.test_exit} although the report shows "
                              f"{'no failure' if canary_status is None else 'only the canary failing'}", **verdict)
    return Verdict(outcome=Outcome.passed, **verdict)


def _hidden_not_passed(hidden: Sequence[str], tests: dict[str, TestStatus]) -> dict[str, TestStatus]:
    """Each hidden test function must be in the report and pass (in every parametrisation)."""
    by_base: dict[str, list[TestStatus]] = {}
    for test_id, status in tests.items():
        by_base.setdefault(test_id.split("[", 1)[0], []).append(status)
    bad = {}
    for base in hidden:
        statuses = by_base.get(base, [])
        if not statuses:
            bad[base] = TestStatus.missing
        elif any(s is not TestStatus.passed for s in statuses):
            bad[base] = next(s for s in statuses if s is not TestStatus.passed)
    return bad


def _summarise(bad: dict[str, TestStatus]) -> str:
    shown = ", ".join(f"{t} {s.value}" for t, s in list(bad.items())[:3])
    more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
    return f"{len(bad)} test(s) not passing: {shown}{more}"


def _first_error(apply_log: str) -> str:
    """The last error of the first apply attempt: git's own summary of why the patch does not apply."""
    first_attempt = apply_log.split("\n$ ")[0]
    lines = [line for line in first_attempt.splitlines() if line.startswith(("error:", "fatal:"))]
    return lines[-1][:300] if lines else ""
