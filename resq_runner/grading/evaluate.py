"""One evaluation in a fresh container that no system has touched: create, copy in, run the harness, copy out."""

from __future__ import annotations

import ast
import json
import secrets
import time
from pathlib import Path

import docker

from ..errors import InfraError, TaskError
from ..models import Evaluation, HarnessStatus, ImageRef, TaskFolder, TestStatus
from ..sandbox import Limits, Sandbox
from ..tasks import hidden_files
from .reports import ReportError, decide, parse_junit, parse_script_report

GRADER_VERSION = "1"
HARNESS = Path(__file__).resolve().parents[2] / "harness" / "grade.py"
REPORT_FLAGS = {"pytest": ("--junitxml={report} -o junit_family=xunit1", ".xml"), "script": ("", ".json"),
                "log": ("", ".log")}
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
        "timeout_s": task.timeout_s, "private": "/resq/private", "output_limit": OUTPUT_LIMIT,
        "report_is_output": task.tests.framework == "log",
    }
    files = {"/resq/harness/grade.py": HARNESS.read_bytes(), "/resq/in/patch.diff": patch.encode()}
    hidden = hidden_files(tf)
    if task.tests.framework == "script":
        script = hidden.pop(task.tests.script).decode("utf-8", "replace")
        secret = secrets.token_hex(16)
        spec["script"] = {"source": "/resq/in/script.py", "name": f"resq_test_{secrets.token_hex(8)}.py",
                          "secret": secret}
        files["/resq/in/script.py"] = deleted_when_started(insert_secret(script, secret, tf)).encode()
    files["/resq/in/spec.json"] = _json(spec)
    files.update({f"/resq/in/hidden/{name}": content for name, content in hidden.items()})

    started = time.perf_counter()
    sandbox = Sandbox(client, image.tag, run_id, "eval", limits=limits,
                      command=["/usr/bin/python3", "-I", "/resq/harness/grade.py", "/resq/in/spec.json"])
    try:
        sandbox.put_files(files, mode=0o600)
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
            tests = _parse_report(task.tests, report)
        except ReportError as exc:
            status = status.model_copy(update={"report_found": False, "note": f"unreadable test report: {exc}"})
    verdict = decide(status, tests, task.success, oom_killed=exit.oom_killed)
    return Evaluation(verdict=verdict, eval_start=ran - started, eval_run=collected - ran,
                      eval_collect=torn - collected, teardown=done - torn, eval_apply=status.apply_s,
                      eval_tests=status.tests_s)


def _parse_report(tests, report: bytes) -> dict[str, TestStatus]:
    if tests.framework == "script":
        return parse_script_report(report)
    if tests.framework == "log":
        from .logs import parse_log

        return parse_log(report.decode("utf-8", "replace"), tests.log_parser)
    return parse_junit(report)


def insert_secret(script: str, secret: str, tf: TaskFolder | None = None) -> str:
    """The script with `print(<secret>)` placed just before its success exit (RES-Q's convention: the first line
    calling `sys.exit(0)` or `sys.exit(exit_code)`), so a patch that ends the process early cannot pass."""
    lines = script.split("\n")
    for number, line in enumerate(lines):
        if "sys.exit(0)" in line or "sys.exit(exit_code)" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(number, f"{indent}print({secret!r}, flush=True)")
            return "\n".join(lines)
    where = f"{tf.root / 'task.yaml'}: " if tf else ""
    raise TaskError(f"{where}the test script has no `sys.exit(0)` (or `sys.exit(exit_code)`) success exit where "
                    "the grader can place its secret; add one")


def deleted_when_started(script: str) -> str:
    """The script removes its own file as its first statement (after a docstring and __future__ imports), before
    it imports any of the repository's code: patched code can then not read the secret back from the file."""
    try:
        body = ast.parse(script).body
    except SyntaxError:
        body = []
    skip = 0
    for statement in body:
        is_docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and \
            isinstance(statement.value.value, str) and skip == 0
        if not (is_docstring or (isinstance(statement, ast.ImportFrom) and statement.module == "__future__")):
            break
        skip = statement.end_lineno
    lines = script.split("\n")
    lines.insert(skip, "__import__('os').unlink(__file__)")
    return "\n".join(lines)


def _json(value) -> bytes:
    return json.dumps(value).encode()
