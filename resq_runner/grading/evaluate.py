"""One evaluation in a fresh container that no system has touched: create, copy in, run the harness, copy out."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import docker

from ..errors import InfraError
from ..models import Evaluation, HarnessStatus, ImageRef, TaskFolder, TestStatus
from ..sandbox import Limits, Sandbox
from ..tasks import hidden_files
from .reports import ReportError, decide, parse_junit, parse_node_report

GRADER_VERSION = "1"
HARNESS_DIR = Path(__file__).resolve().parents[2] / "harness"
HARNESS = HARNESS_DIR / "grade.py"
NODE_REPORTER = "/resq/tools/node_reporter.mjs"
# framework -> (flags asking the runner for a structured report at {report}, the report's file suffix)
REPORT_FLAGS = {
    "pytest": ("--junitxml={report} -o junit_family=xunit1", ".xml"),
    "node": (f"--test-reporter={NODE_REPORTER} --test-reporter-destination={{report}}", ".jsonl"),
}
# Node reads options only before its file arguments, so its flags go right after `--test` instead of at the end.
FLAGS_AFTER = {"node": "--test"}
REPORT_PARSERS = {"pytest": parse_junit, "node": parse_node_report}
# Files the test user must be able to read (root-owned, world-readable), by framework.
TOOLS = {"node": {NODE_REPORTER: HARNESS_DIR / "node_reporter.mjs"}}
OUTPUT_LIMIT = 4 * 1024 * 1024
STARTUP_MARGIN_S = 30  # the harness's own deadline is the task's; this outer one catches a wedged container


def evaluate(client: docker.DockerClient, image: ImageRef, tf: TaskFolder, patch: str, run_id: str,
             log_dir: Path, limits: Limits = Limits(), uid: int = 1000) -> Evaluation:
    task = tf.task
    report_flag, suffix = REPORT_FLAGS[task.tests.framework]
    spec = {
        "workspace": "/workspace", "patch": "/resq/in/patch.diff", "hidden": "/resq/in/hidden",
        "protected": task.protected, "command": task.tests.command, "report_flag": report_flag,
        "report_suffix": suffix, "report_dir": "/resq/report", "nonce": secrets.token_hex(16), "uid": uid,
        "report_flag_after": FLAGS_AFTER.get(task.tests.framework, ""),
        "timeout_s": task.timeout_s, "private": "/resq/private", "output_limit": OUTPUT_LIMIT,
    }
    files = {"/resq/in/spec.json": _json(spec), "/resq/in/patch.diff": patch.encode(),
             "/resq/harness/grade.py": HARNESS.read_bytes()}
    files.update({f"/resq/in/hidden/{name}": content for name, content in hidden_files(tf).items()})

    started = time.perf_counter()
    sandbox = Sandbox(client, image.tag, run_id, "eval", limits=limits,
                      command=["/usr/bin/python3", "-I", "/resq/harness/grade.py", "/resq/in/spec.json"])
    try:
        sandbox.put_files(files, mode=0o600)
        tools = TOOLS.get(task.tests.framework, {})
        if tools:
            sandbox.put_files({path: source.read_bytes() for path, source in tools.items()}, mode=0o644)
        sandbox.start()
        ran = time.perf_counter()
        exit = sandbox.wait(task.timeout_s + STARTUP_MARGIN_S)
        collected = time.perf_counter()
        status_bytes = sandbox.read_file("/resq/private/status.json")
        report = sandbox.read_file("/resq/private/report")
        output = sandbox.read_file("/resq/private/test_output.txt") or b""
        harness_log = sandbox.logs()
    finally:
        torn = time.perf_counter()
        sandbox.remove()
    done = time.perf_counter()

    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "test_output.txt").write_bytes(output)
    if report is not None:
        (log_dir / f"report{suffix}").write_bytes(report)
    if exit.timed_out:
        status = HarnessStatus(applied=True, timed_out=True, note="")
    elif status_bytes is None:
        (log_dir / "harness.log").write_text(harness_log)
        if exit.oom_killed:
            status = HarnessStatus(applied=True, report_found=False)
        else:
            raise InfraError(f"{tf.ref}: the grading harness ended (exit {exit.code}) without a status file; "
                             f"see {log_dir / 'harness.log'}")
    else:
        status = HarnessStatus.model_validate_json(status_bytes)
    (log_dir / "apply.log").write_text(status.apply_log)
    tests: dict[str, TestStatus] = {}
    if report is not None:
        try:
            tests = REPORT_PARSERS[task.tests.framework](report)
        except ReportError as exc:
            status = status.model_copy(update={"report_found": False, "note": f"unreadable test report: {exc}"})
    verdict = decide(status, tests, task.success, oom_killed=exit.oom_killed)
    return Evaluation(verdict=verdict, eval_start=ran - started, eval_run=collected - ran,
                      eval_collect=torn - collected, teardown=done - torn)


def _json(value) -> bytes:
    return json.dumps(value).encode()
