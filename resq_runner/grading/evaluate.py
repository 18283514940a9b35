"""One evaluation in a fresh container that no system has touched: create, copy in, run the harness, copy out."""

from __future__ import annotations

import ast
import base64
import binascii
import dataclasses
import functools
import importlib.util
import json
import marshal
import secrets
import time
from pathlib import Path

import docker

from .. import environments
from ..errors import InfraError, TaskError
from ..models import (CanarySpec, Evaluation, HarnessSpec, HarnessStatus, ImageRef, ImageSnapshot, ScriptSpec, Task,
                      TaskFolder, TestStatus)
from ..sandbox import Exit, Limits, Sandbox, parse_size
from ..resources import harness_dir, harness_file
from ..sandbox_pool import ContainerPool
from ..tasks import hidden_files, tests_of
from .canaries import Canaries, plant
from .reports import ReportError, decide, parse_junit, parse_node_report, parse_script_report
from .selection import hidden_test_ids

GRADER_VERSION = "3"
HARNESS_DIR = harness_dir()
HARNESS = HARNESS_DIR / "grade.py"
NODE_REPORTER = "/resq/tools/node_reporter.mjs"
# framework -> (flags asking the runner for a structured report at {report}, the report's file suffix)
REPORT_FLAGS = {"pytest": ("--junitxml={report} -o junit_family=xunit1", ".xml"), "script": ("", ".json"),
                "log": ("", ".log"),
                "node": (f"--test-reporter={NODE_REPORTER} --test-reporter-destination={{report}}", ".jsonl")}
# Node reads options only before its file arguments, so its flags go right after `--test` instead of at the end.
FLAGS_AFTER = {"node": "--test"}
# Files the test user must be able to read (root-owned, world-readable), by framework.
TOOLS = {"node": {NODE_REPORTER: HARNESS_DIR / "node_reporter.mjs"}}
BOOT = HARNESS.with_name("boot.py")  # inputs from stdin, grade.py, private files to stdout (see harness/boot.py)
SPEC_SCHEMA = "spec.schema.json"  # HarnessSpec's JSON schema, which grade.py checks its spec against
CHECKED_HASH_PYC = 0b11  # a .pyc's flags: validated by the source's hash, checked on every import (PEP 552)
BOOT_MARK = "--- resq private files ---"
# /etc/hosts of an eval container without network (made `loopback_only`): the lines the engine writes for `none`
LOOPBACK_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                  "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
OUTPUT_LIMIT = 4 * 1024 * 1024
REPORT_LIMIT = 16 * 1024 * 1024  # a larger report is the tests' doing: `failed`, and the result block stays small
APPLIED_MARK = "--- resq patch applied ---"  # printed by grade.py once the patch applied
# SIGKILL, SIGTERM: the harness is root, so only the engine (or whoever drives it) can end it with these
KILLED_FROM_OUTSIDE = (137, 143)
STARTUP_MARGIN_S = 30  # the harness's own deadline is the task's; this outer one catches a wedged container
PRIVATE = "/resq/private"
# image id -> its site-packages folders, as the harness's probe found them in an evaluation of that image (pytest).
# Kept only for images without an activation command: the probe then reads nothing a patch can change.
_SITES: dict[str, list[str]] = {}


def eval_sandbox(client: docker.DockerClient, image_tag: str, run_id: str, limits: Limits = Limits(),
                 labels: dict[str, str] | None = None) -> Sandbox:
    """A created, not started, eval container (what a ContainerPool makes, and starts, ahead of time: its command,
    boot.py, then waits for the inputs on stdin)."""
    return Sandbox(client, image_tag, run_id, "eval", limits=limits, command=eval_command(), labels=labels, stdin=True,
                   tmpfs={"/tmp": f"size={limits.tmp_size},mode=1777"}, loopback_only=True)


def eval_command() -> list[str]:
    """boot.py's source is the container's command (read here, when a container is made, not at import); grade.py
    arrives with the inputs (see harness/boot.py for why its text stays out of the command)."""
    text = BOOT.read_text()
    code = text.split('"""', 2)[2] if text.startswith('"""') else text  # its docstring: 2 KB the engine need not store
    return ["/usr/bin/python3", "-I", "-S", "-c", code, "/resq/harness/grade.py", "/resq/in/spec.json"]


def input_frame(files: dict[str, bytes], *, mode: int, modes: dict[str, int]) -> bytes:
    """The inputs as boot.py reads them from stdin: one JSON line listing [path, mode, size] of each file, then the
    files' bytes in that order (all with `mode` except those `modes` names)."""
    listing = [[path, modes.get(path, mode), len(content)] for path, content in files.items()]
    return b"".join([json.dumps(listing).encode(), b"\n", *files.values()])


def evaluate(client: docker.DockerClient, image: ImageRef, tf: TaskFolder, patch: str, run_id: str,
             log_dir: Path, limits: Limits = Limits(), uid: int = 1000,
             pool: ContainerPool | None = None) -> Evaluation:
    """With a pool, the container comes from it (made earlier with the same settings) and goes back to be removed."""
    task, test_spec = tf.task, tests_of(tf)
    run_limits, limits = limits, task_limits(limits, tf)
    report_flag, suffix = REPORT_FLAGS[test_spec.framework]
    hidden = hidden_files(tf)
    canary = plant(hidden, test_spec.command, test_spec.framework) if test_spec.canary else Canaries()
    files = {**harness_files(), "/resq/in/patch.diff": patch.encode()}
    script = None
    if test_spec.framework == "script":
        source = _test_script(tf, hidden)
        script = ScriptSpec(source="/resq/in/script.py", name=f"resq_test_{secrets.token_hex(8)}.py",
                            secret=secrets.token_hex(16))
        files["/resq/in/script.py"] = deleted_when_started(insert_secret(source, script.secret, tf)).encode()
    spec = HarnessSpec(
        workspace="/workspace", patch="/resq/in/patch.diff", hidden="/resq/in/hidden", protected=task.protected,
        command=environments.test_command(task), env=environments.test_env(task), activate=_activation(task),
        framework=test_spec.framework, report_flag=report_flag,
        report_flag_after=FLAGS_AFTER.get(test_spec.framework, ""), report_suffix=suffix,
        report_dir="/resq/report", report_is_output=test_spec.framework == "log", nonce=secrets.token_hex(16),
        mark=secrets.token_hex(16), uid=uid, timeout_s=task.timeout_s, private=PRIVATE, output_limit=OUTPUT_LIMIT,
        report_limit=REPORT_LIMIT, file_size=parse_size(limits.file_size), canary=canary_spec(canary), script=script,
        sites=_SITES.get(image.id) if test_spec.framework == "pytest" else None,
        hosts="" if limits.network else LOOPBACK_HOSTS)
    files["/resq/in/spec.json"] = spec.model_dump_json().encode()
    files.update({f"/resq/in/hidden/{name}": content for name, content in canary.planted(hidden).items()})

    started = time.perf_counter()
    pooled = pool if limits == run_limits else None  # pooled containers carry the run's limits
    sandbox = pooled.take(image.tag) if pooled is not None else eval_sandbox(client, image.tag, run_id, limits,
                                                                 labels={"resq.task": task.id})
    try:
        tools = TOOLS.get(test_spec.framework, {})
        inputs = {**files, **{path: source.read_bytes() for path, source in tools.items()}}
        allowed_s = task.timeout_s + STARTUP_MARGIN_S
        deadline = time.monotonic() + allowed_s
        reply = sandbox.converse(input_frame(inputs, mode=0o600, modes={path: 0o644 for path in tools}),
                                 block_mark(spec.mark).encode(), allowed_s)
        ran = reply.sent
        private = _block(reply.stdout.decode("utf-8", "replace"), spec.mark) if reply.stdout is not None else None
        told = _exit_told(private)
        if private is None or told is None:  # no block, or no OOM count in it: the engine tells how it ended
            exit = sandbox.wait(max(1.0, deadline - time.monotonic()))
            private = private if private is not None else _private_files(sandbox, spec.mark)
        else:
            exit = told
        collected = time.perf_counter()
        status_bytes, report = private.get("status.json"), private.get("report")
        output = private.get("test_output.txt", b"")
        harness_log = "" if status_bytes is not None else sandbox.logs()
    finally:
        torn = time.perf_counter()
        if pooled is not None:
            pooled.release(sandbox)
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
        elif APPLIED_MARK in harness_log and exit.code not in KILLED_FROM_OUTSIDE:
            status = HarnessStatus(applied=True, note=f"the grading harness ended (exit {exit.code}) without a "
                                   "status after the patch applied (the tests' doing); see harness.log")
        else:
            raise InfraError(f"{tf.ref}: the grading harness ended (exit {exit.code}) without a status file; "
                             f"see {log_dir / 'harness.log'}")
    else:
        status = HarnessStatus.model_validate_json(status_bytes)
        _remember_sites(image, spec, status)
    (log_dir / "apply.log").write_text(status.apply_log)
    tests: dict[str, TestStatus] = {}
    if report is not None:
        try:
            tests = _parse_report(test_spec, report)
        except ReportError as exc:
            status = status.model_copy(update={"report_found": False, "note": f"unreadable test report: {exc}"})
    verdict = decide(status, tests, task.success, oom_killed=exit.oom_killed, canary=canary,
                     hidden=hidden_test_ids(hidden, test_spec.command) if test_spec.framework == "pytest" else [],
                     memory=limits.memory)
    return Evaluation(verdict=verdict, eval_start=ran - started, eval_run=collected - ran,
                      eval_collect=torn - collected, teardown=done - torn, eval_apply=status.apply_s,
                      eval_tests=status.tests_s)


def harness_files() -> dict[str, bytes]:
    """grade.py with the spec's schema and its checker, as they go into the container, and the bytecode of the two
    modules where the container's import system looks for it."""
    files = {}
    for name in ("grade.py", "spec_check.py", SPEC_SCHEMA):
        path = f"/resq/harness/{name}"
        files[path] = harness_file(name).read_bytes()
        if name.endswith(".py"):
            files[importlib.util.cache_from_source(path, optimization="")] = bytecode(files[path], path)
    return files


@functools.lru_cache(maxsize=8)
def bytecode(source: bytes, path: str) -> bytes:
    """A checked-hash .pyc of `source`, as this Python compiles it. The container's python takes it only when its
    own cache tag names the file, its magic number is the same and the source's hash matches; otherwise it compiles
    the source, as it would without the file."""
    code = compile(source, path, "exec", dont_inherit=True, optimize=0)
    return (importlib.util.MAGIC_NUMBER + CHECKED_HASH_PYC.to_bytes(4, "little") + importlib.util.source_hash(source)
            + marshal.dumps(code))


def _test_script(tf: TaskFolder, hidden: dict[str, bytes]) -> str:
    """The task's test script, taken out of the hidden files (it is copied in under a random name instead)."""
    name = tests_of(tf).script or ""
    if name not in hidden:
        raise TaskError(f"{tf.root / 'task.yaml'}: tests.script names {name}, which is not among the hidden files "
                        f"in {tf.root / tf.task.hidden_tests}; add it there or fix tests.script")
    return hidden.pop(name).decode("utf-8", "replace")


def _activation(task: Task) -> str:
    """The shell command a prebuilt image runs before its tests: the harness finds the tests' python after it."""
    return task.snapshot.activate if isinstance(task.snapshot, ImageSnapshot) else ""


def _remember_sites(image: ImageRef, spec: HarnessSpec, status: HarnessStatus) -> None:
    """Keep the probe's answer for the image's next evaluations, when it found folders and no activation ran."""
    if spec.sites is None and status.sites and not spec.activate and image.id:
        _SITES.setdefault(image.id, status.sites)


def canary_spec(canary: Canaries) -> CanarySpec:
    """What the harness needs: node ids to add to the command, and salted hashes to keep canaries selected."""
    salt = secrets.token_hex(8)
    return CanarySpec(arguments=list(canary.arguments), salt=salt, keep=canary.keep_hashes(salt))


def task_limits(run_limits: Limits, tf: TaskFolder) -> Limits:
    """The run's limits with the task's own settings laid over them."""
    own = {k: v for k, v in tf.task.limits.model_dump().items() if v is not None}
    return dataclasses.replace(run_limits, **own)


def _parse_report(tests, report: bytes) -> dict[str, TestStatus]:
    if tests.framework == "script":
        return parse_script_report(report)
    if tests.framework == "node":
        return parse_node_report(report)
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
        skip = statement.end_lineno or skip
    lines = script.split("\n")
    lines.insert(skip, "__import__('os').unlink(__file__)")
    return "\n".join(lines)


def block_mark(mark: str) -> str:
    """The line boot.py prints before and after the result block: the fixed mark, then this evaluation's secret."""
    return f"{BOOT_MARK} {mark}\n"


def _block(text: str, mark: str) -> dict[str, bytes] | None:
    """{file name: bytes} of the block between the two mark lines; None when there is no whole block."""
    parts = text.rsplit(block_mark(mark), 2)
    if len(parts) == 3:
        try:
            blocks = json.loads("".join(parts[1].split()))
            return {name: base64.b64decode(text) for name, text in blocks.items()}
        except (ValueError, binascii.Error, AttributeError):
            pass
    return None


def _exit_told(private: dict[str, bytes] | None) -> Exit | None:
    """How the evaluation ended, from its status alone: it was written after the tests, and counts the OOM kills.
    (The exit code matters only when there is no status.)"""
    status = private.get("status.json") if private is not None else None
    if status is None:
        return None
    try:
        kills = HarnessStatus.model_validate_json(status).oom_kills
    except ValueError:
        return None
    return None if kills is None else Exit(code=None, timed_out=False, oom_killed=kills > 0)


def _private_files(sandbox: Sandbox, mark: str) -> dict[str, bytes]:
    """Status, report and output as boot.py printed them; copied out of the container if its log has no block."""
    try:
        log = sandbox.stdout()
    except InfraError:
        log = ""  # a logging driver that cannot be read back
    found = _block(log, mark)
    return found if found is not None else sandbox.read_tree(PRIVATE)

