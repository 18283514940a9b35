"""One evaluation in a fresh container that no system has touched: create, copy in, run the harness, copy out."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from pathlib import Path

import docker

from ..errors import InfraError
from ..models import Evaluation, HarnessStatus, ImageRef, TaskFolder, TestStatus
from ..sandbox import Limits, Sandbox, make_tar
from ..sandbox_pool import ContainerPool
from ..tasks import hidden_files
from .reports import ReportError, decide, parse_junit

GRADER_VERSION = "1"
HARNESS = Path(__file__).resolve().parents[2] / "harness" / "grade.py"
BOOT = HARNESS.with_name("boot.py")  # inputs from stdin, grade.py, private files to stdout (see harness/boot.py)
BOOT_MARK = "--- resq private files ---"
REPORT_FLAGS = {"pytest": ("--junitxml={report} -o junit_family=xunit1", ".xml")}
OUTPUT_LIMIT = 4 * 1024 * 1024
STARTUP_MARGIN_S = 30  # the harness's own deadline is the task's; this outer one catches a wedged container
EVAL_COMMAND = ["/usr/bin/python3", "-I", "-c", BOOT.read_text(), "/resq/harness/grade.py", "/resq/in/spec.json"]
PRIVATE = "/resq/private"


def eval_sandbox(client: docker.DockerClient, image_tag: str, run_id: str, limits: Limits = Limits(),
                 labels: dict[str, str] | None = None) -> Sandbox:
    """A created, not started, eval container (what a ContainerPool makes ahead of time)."""
    return Sandbox(client, image_tag, run_id, "eval", limits=limits, command=EVAL_COMMAND, labels=labels, stdin=True)


def evaluate(client: docker.DockerClient, image: ImageRef, tf: TaskFolder, patch: str, run_id: str,
             log_dir: Path, limits: Limits = Limits(), uid: int = 1000,
             pool: ContainerPool | None = None) -> Evaluation:
    """With a pool, the container comes from it (made earlier with the same settings) and goes back to be removed."""
    task = tf.task
    report_flag, suffix = REPORT_FLAGS[task.tests.framework]
    spec = {
        "workspace": "/workspace", "patch": "/resq/in/patch.diff", "hidden": "/resq/in/hidden",
        "protected": task.protected, "command": task.tests.command, "report_flag": report_flag,
        "report_suffix": suffix, "report_dir": "/resq/report", "nonce": secrets.token_hex(16), "uid": uid,
        "timeout_s": task.timeout_s, "private": "/resq/private", "output_limit": OUTPUT_LIMIT,
    }
    files = {"/resq/in/spec.json": _json(spec), "/resq/in/patch.diff": patch.encode(),
             "/resq/harness/grade.py": HARNESS.read_bytes()}
    files.update({f"/resq/in/hidden/{name}": content for name, content in hidden_files(tf).items()})

    started = time.perf_counter()
    sandbox = pool.take(image.tag) if pool else eval_sandbox(client, image.tag, run_id, limits)
    try:
        sandbox.start_with_input(make_tar(files, mode=0o600))
        ran = time.perf_counter()
        exit = sandbox.wait(task.timeout_s + STARTUP_MARGIN_S)
        collected = time.perf_counter()
        private = _private_files(sandbox)
        status_bytes, report = private.get("status.json"), private.get("report")
        output = private.get("test_output.txt", b"")
        harness_log = "" if status_bytes is not None else sandbox.logs()
    finally:
        torn = time.perf_counter()
        if pool:
            pool.release(sandbox)
        else:
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
            tests = parse_junit(report)
        except ReportError as exc:
            status = status.model_copy(update={"report_found": False, "note": f"unreadable test report: {exc}"})
    verdict = decide(status, tests, task.success, oom_killed=exit.oom_killed)
    return Evaluation(verdict=verdict, eval_start=ran - started, eval_run=collected - ran,
                      eval_collect=torn - collected, teardown=done - torn)


def _private_files(sandbox: Sandbox) -> dict[str, bytes]:
    """Status, report and output as boot.py printed them; copied out of the container if its log has no block."""
    try:
        log = sandbox.stdout()
    except InfraError:
        log = ""  # a logging driver that cannot be read back
    parts = log.rsplit(BOOT_MARK, 2)
    if len(parts) == 3:
        try:
            blocks = json.loads("".join(parts[1].split()))
            return {name: base64.b64decode(text) for name, text in blocks.items()}
        except (ValueError, binascii.Error, AttributeError):
            pass
    return sandbox.read_tree(PRIVATE)


def _json(value) -> bytes:
    return json.dumps(value).encode()
