"""Challenge tasks: run the system's program in a fresh container and compare its stdout with the expected answer.

No model takes part in grading: the output either matches under the task's declared normalisation or it does not.
"""

from __future__ import annotations

import json
import secrets
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import docker

from ..errors import InfraError
from ..models import (Challenge, ChallengeRun, ChallengeStatus, ChallengeVerdict, Evaluation, ImageRef, Outcome,
                      SystemOutput, TaskFolder, Verdict)
from ..resources import harness_file
from ..sandbox import Limits, Sandbox
from ..tasks import challenge_input, challenge_of

HARNESS = harness_file("challenge.py")
OUTPUT_LIMIT = 16 * 1024 * 1024
STARTUP_MARGIN_S = 30
SHOWN = 200


def evaluate_challenge(client: docker.DockerClient, image: ImageRef, tf: TaskFolder, output: SystemOutput,
                       run_id: str, log_dir: Path, limits: Limits = Limits(), uid: int = 1000) -> Evaluation:
    challenge = challenge_of(tf)
    log_dir.mkdir(parents=True, exist_ok=True)
    if output.program is None and output.answer is not None:
        (log_dir / "answer.txt").write_text(output.answer)
        return Evaluation(verdict=judge(ChallengeRun(exit_code=0), output.answer.encode(), b"", challenge))
    program = (output.program or "").encode()
    (log_dir / "solution.py").write_bytes(program)
    run, stdout, stderr, timings = _run_program(client, image, tf, program, run_id, limits, uid)
    (log_dir / "stdout.txt").write_bytes(stdout)
    (log_dir / "stderr.txt").write_bytes(stderr)
    return Evaluation(verdict=judge(run, stdout, stderr, challenge), **timings)


def _run_program(client, image: ImageRef, tf: TaskFolder, program: bytes, run_id: str, limits: Limits, uid: int):
    task_input = challenge_input(tf)
    spec = {"program": "/resq/in/solution.py", "input": "/resq/in/input.txt" if task_input is not None else None,
            "workdir": f"/resq/run-{secrets.token_hex(8)}", "private": "/resq/private", "uid": uid,
            "timeout_s": tf.task.timeout_s, "output_limit": OUTPUT_LIMIT}
    files = {"/resq/in/spec.json": json.dumps(spec).encode(), "/resq/in/solution.py": program,
             "/resq/harness/challenge.py": HARNESS.read_bytes()}
    if task_input is not None:
        files["/resq/in/input.txt"] = task_input
    started = time.perf_counter()
    sandbox = Sandbox(client, image.tag, run_id, "eval", limits=limits, workdir="/",
                      command=["/usr/bin/python3", "-I", "/resq/harness/challenge.py", "/resq/in/spec.json"])
    try:
        sandbox.put_files(files, mode=0o600)
        sandbox.start()
        ran = time.perf_counter()
        exit = sandbox.wait(tf.task.timeout_s + STARTUP_MARGIN_S)
        collected = time.perf_counter()
        status = sandbox.read_file("/resq/private/status.json")
        stdout = sandbox.read_file("/resq/private/stdout.txt", limit=OUTPUT_LIMIT) or b""
        stderr = sandbox.read_file("/resq/private/stderr.txt", limit=OUTPUT_LIMIT) or b""
        harness_log = sandbox.logs()
    finally:
        torn = time.perf_counter()
        sandbox.remove()
    done = time.perf_counter()
    if exit.timed_out:
        run = ChallengeRun(timed_out=True)
    elif status is None:
        if not exit.oom_killed:
            raise InfraError(f"{tf.ref}: the challenge harness ended (exit {exit.code}) without a status file: "
                             f"{harness_log[-300:]}")
        run = ChallengeRun(exit_code=137)
        stderr += b"\nthe program ran out of memory (container memory limit)\n"
    else:
        run = ChallengeRun.model_validate_json(status)
    timings = dict(eval_start=ran - started, eval_run=collected - ran, eval_collect=torn - collected,
                   teardown=done - torn)
    return run, stdout, stderr, timings


def judge(run: ChallengeRun, stdout: bytes, stderr: bytes, challenge: Challenge) -> Verdict:
    """The verdict from what the program did. Output on stderr is allowed (warnings are not failures)."""
    got = stdout.decode("utf-8", "replace")
    shown = _clip(got)
    tail = _clip(stderr.decode("utf-8", "replace").strip().splitlines()[-1] if stderr.strip() else "")

    def verdict(outcome: Outcome, status: ChallengeStatus, reason: str) -> Verdict:
        detail = ChallengeVerdict(status=status, expected=challenge.expected, got=shown, exit_code=run.exit_code,
                                  stderr_tail=tail)
        return Verdict(outcome=outcome, reason=reason, challenge=detail)

    if run.syntax_error:
        return verdict(Outcome.failed, "syntax_error", f"syntax_error: {run.syntax_error}")
    if run.timed_out:
        return verdict(Outcome.timed_out, "timeout", "timeout: the program did not finish before the task's timeout")
    if run.exit_code != 0:
        return verdict(Outcome.failed, "runtime_error", f"runtime_error: exit code {run.exit_code}"
                       + (f": {tail}" if tail else ""))
    if not outputs_match(got, challenge.expected, challenge.compare):
        return verdict(Outcome.failed, "wrong_output",
                       f"wrong_output: expected {challenge.expected!r} ({challenge.compare}), got {shown!r}")
    return verdict(Outcome.passed, "correct", "")


def blocked(challenge: Challenge, earlier: str, outcome: str) -> Verdict:
    """A later part whose earlier part did not pass: the system is never shown it. When the earlier part hit an
    infrastructure error, so does this one (nothing is known about the system yet; a resume retries both)."""
    final = Outcome.infra_error if outcome == Outcome.infra_error.value else Outcome.failed
    return Verdict(outcome=final, reason=f"blocked: earlier part {earlier} was {outcome}, so this part was not "
                   "shown", challenge=ChallengeVerdict(status="blocked", expected=challenge.expected))


def outputs_match(got: str, expected: str, mode: str) -> bool:
    if mode == "exact":
        return got == expected
    if mode == "strip":
        return got.strip() == expected.strip()
    return _number(got) is not None and _number(got) == _number(expected)


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _clip(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"
