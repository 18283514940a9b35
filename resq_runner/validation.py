"""`resq tasks validate`: prove each task of a suite is sound, in real containers, through the run pipeline.

For every task, N evaluations of `gold` and N of `noop` (pipeline.Pipeline, exactly as `resq run` grades), plus a look
at the workspace a system would see:

- gold passes N of N, noop fails N of N;
- every fail_to_pass test fails under noop and passes under gold, every pass_to_pass test passes under both;
- the same system gets the same test statuses every time (otherwise the task is flaky);
- no hidden test file is in the task image's /workspace, and the instruction quotes no line of a hidden test.

This module only consumes the pipeline (task images, Pipeline.run_task, Result rows); it grades nothing itself.
"""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import docker

from . import environments
from .errors import ResqError
from .models import ImageRef, Outcome, Result, SystemSpec, TaskFolder, TaskValidity, TestStatus
from .pipeline import Pipeline, new_run_id, task_image
from .results import RunPaths, check_out_folder
from .sandbox import Limits, Sandbox, connect, remove_run_containers
from .scheduling import RetryPolicy
from .systems import make_system
from .tasks import hidden_files, load_suite
from .tasks.lint import instruction_leaks, lint_suite

SYSTEMS = ("gold", "noop")
TOOL_ERROR = re.compile(r"^(ERROR|Error|error)[: ]|^E +\w+(Error|Exception)\b")
LISTING_TIMEOUT_S = 120


@dataclass
class ValidateOptions:
    suite: str
    runs: int = 3
    jobs: int = 1
    only: list[str] = field(default_factory=list)
    out: Path | None = None
    retries: int = 2
    limits: Limits = Limits()


@dataclass
class Evaluations:
    """The final results of one task, by system, in run order."""

    gold: list[Result] = field(default_factory=list)
    noop: list[Result] = field(default_factory=list)

    def of(self, system: str) -> list[Result]:
        """The list of one of SYSTEMS."""
        return {"gold": self.gold, "noop": self.noop}[system]


def validate_suite(options: ValidateOptions, progress=lambda _text: None) -> tuple[Path, list[TaskValidity]]:
    if options.runs < 1:
        raise ResqError(f"--runs {options.runs}: give at least 1")
    if options.out is not None:
        check_out_folder(options.out)
    tasks = load_suite(options.suite, options.only or None)
    lint = lint_errors(options.suite, [tf.task.id for tf in tasks])
    client = connect()
    run_id = new_run_id("validate")
    root = options.out or Path("runs") / run_id
    envs = {name: environments.ensure_environment(client, name, log=progress)
            for name in sorted({tf.task.environment.name for tf in tasks})}
    try:
        problems = {tf.task.id: ([], lint[tf.task.id]) if tf.task.id in lint else  # not evaluated
                    _image_problems(client, tf, envs[tf.task.environment.name], run_id) for tf in tasks}
        buildable = [tf for tf in tasks if not problems[tf.task.id][1]]
        evaluations = _evaluate_all(client, buildable, envs, run_id, root, options, progress)
    finally:
        remove_run_containers(client, run_id)
    return root, [judge(tf, evaluations.get(tf.task.id, Evaluations()), sum(problems[tf.task.id], []),
                        options.runs) for tf in tasks]


def lint_errors(suite: str, task_ids: list[str]) -> dict[str, list[str]]:
    """Lint's errors (not its warnings) by task: a task lint already faults is not worth a container."""
    found: dict[str, list[str]] = {}
    for problem in lint_suite(suite, task_ids):
        if problem.severity == "error":
            found.setdefault(problem.task.rpartition("/")[2], []).append(f"lint: {problem.message}")
    return found


def tool_error(result: Result) -> str:
    """The test tool's own complaint in the evaluation's output (`ERROR: file or directory not found: tests`), which
    says more than a report listing no tests."""
    output = Path(result.log_dir) / "test_output.txt" if result.log_dir else None
    if output is None or not output.is_file():
        return ""
    for line in output.read_text(encoding="utf-8", errors="replace").splitlines():
        if TOOL_ERROR.match(line):
            return line.strip()[:200]
    return ""


def _image_problems(client: docker.DockerClient, tf: TaskFolder, environment: ImageRef,
                    run_id: str) -> tuple[list[str], list[str]]:
    """(leaks, build failures) of one task: a task whose image cannot be built is not evaluated at all."""
    try:
        image = task_image(client, tf, environment)
    except ResqError as exc:
        return [], [f"the task image cannot be built: {exc}"]
    return workspace_leaks(client, tf, image, run_id), []


def _evaluate_all(client: docker.DockerClient, tasks: list[TaskFolder], envs: dict[str, ImageRef], run_id: str,
                  root: Path, options: ValidateOptions, progress) -> dict[str, Evaluations]:
    pipelines = {(name, index): Pipeline(client, make_system(SystemSpec(name=name)), SystemSpec(name=name), run_id,
                                         RunPaths(root / f"{name}-{index + 1}"), options.limits)
                 for name in SYSTEMS for index in range(options.runs)}
    stop = threading.Event()
    policy = RetryPolicy(retries=options.retries)
    jobs = [(tf, name, index) for tf in tasks for index in range(options.runs) for name in SYSTEMS]

    def evaluate(job: tuple[TaskFolder, str, int]) -> Result:
        tf, name, index = job
        environment, pipeline = envs[tf.task.environment.name], pipelines[(name, index)]
        result = policy.run(lambda attempt: pipeline.run_task(tf, environment, attempt, stop), stop)
        progress(f"  {tf.task.id} {name} run {index + 1}: {result.outcome.value}")
        return result

    found = {tf.task.id: Evaluations() for tf in tasks}
    with ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="resq-validate") as pool:
        try:
            for (tf, name, _index), result in zip(jobs, pool.map(evaluate, jobs)):
                found[tf.task.id].of(name).append(result)
        except BaseException:
            stop.set()
            remove_run_containers(client, run_id)  # running evaluations end with their containers; the pool closes
            raise
    return found


def workspace_leaks(client: docker.DockerClient, tf: TaskFolder, image: ImageRef, run_id: str) -> list[str]:
    """Hidden test files whose content is in the task image's /workspace (what a system's workspace starts as),
    and hidden test lines quoted by the instruction."""
    hidden = hidden_files(tf)
    leaks = [f"the instruction quotes hidden test {name}: {line!r}"
             for name, line in instruction_leaks(tf.task.instruction, hidden)]
    if tf.task.snapshot is None:
        return leaks  # a challenge has no workspace
    listing = ("cd /workspace && find . -path ./.git -prune -o -type f -print0 | xargs -0 -r sha256sum")
    with Sandbox(client, image.tag, run_id, "validate", command=["sh", "-c", listing],
                 limits=Limits(network=False)) as sandbox:
        sandbox.start()
        exit = sandbox.wait(LISTING_TIMEOUT_S)
        output = sandbox.logs()
    if exit.code != 0:
        return [f"cannot list the workspace of {image.tag} to look for hidden tests (exit {exit.code})"]
    visible: dict[str, str] = {}
    for line in output.splitlines():
        digest, _, path = line.partition("  ")
        visible.setdefault(digest, path.removeprefix("./"))
    return [f"hidden test {name} is visible in the workspace as {visible[digest]}"
            for name, content in hidden.items() if (digest := hashlib.sha256(content).hexdigest()) in visible] + leaks


def judge(tf: TaskFolder, found: Evaluations, problems: list[str], runs: int) -> TaskValidity:
    """The verdict for one task from its gold and noop results (a pure function of its inputs)."""
    success = tf.task.success
    pairs = list(zip(found.noop, found.gold))
    counts = TaskValidity(
        task=tf.task.id, runs=runs, problems=problems, verdict="valid",
        gold_passed=sum(r.outcome is Outcome.passed for r in found.gold),
        noop_failed=sum(r.outcome is not Outcome.passed for r in found.noop),
        fail_to_pass_ok=sum(all(_status(n, t) is not TestStatus.passed and _status(g, t) is TestStatus.passed
                                for t in success.fail_to_pass) for n, g in pairs),
        pass_to_pass_ok=sum(all(_status(n, t) is TestStatus.passed and _status(g, t) is TestStatus.passed
                                for t in success.pass_to_pass) for n, g in pairs),
    )
    verdict, reason = _verdict(tf, found, problems, runs, counts)
    return counts.model_copy(update={"verdict": verdict, "reason": reason})


Verdict = Literal["valid", "invalid", "flaky"]


def _verdict(tf: TaskFolder, found: Evaluations, problems: list[str], runs: int,
             counts: TaskValidity) -> tuple[Verdict, str]:
    infra = [r for r in found.gold + found.noop if r.outcome is Outcome.infra_error]
    if infra:
        return "invalid", f"could not be evaluated: {infra[0].reason[:160]}"
    if problems:
        return "invalid", problems[0]
    listed = set(tf.task.success.fail_to_pass) | set(tf.task.success.pass_to_pass)
    for name, results in (("gold", found.gold), ("noop", found.noop)):
        differing = [t for t in _differing_tests(results) if not listed or t in listed]
        if differing or len({r.outcome for r in results}) > 1:
            passed = sum(r.outcome is Outcome.passed for r in results)
            detail = f"; test statuses differ between runs: {', '.join(differing[:3])}" if differing else ""
            return "flaky", f"{name} passed {passed} of {runs}{detail}"
    if counts.gold_passed < runs:
        failed = next(r for r in found.gold if r.outcome is not Outcome.passed)
        said = tool_error(failed)
        return "invalid", f"the gold patch fails: {failed.reason[:160]}" + (f" (the test tool: {said})" if said else "")
    if counts.noop_failed < runs:
        return "invalid", "noop passes: the hidden tests do not detect the missing change"
    success = tf.task.success
    noop = found.noop[0]
    passing_before = [t for t in success.fail_to_pass if _status(noop, t) is TestStatus.passed]
    if passing_before:
        return "invalid", f"fail_to_pass test passes before the change: {', '.join(passing_before[:3])}"
    failing_before = [t for t in success.pass_to_pass if _status(noop, t) is not TestStatus.passed]
    if failing_before:
        return "invalid", (f"pass_to_pass test does not pass before the change: {', '.join(failing_before[:3])} "
                           f"({_status(noop, failing_before[0]).value})")
    return "valid", ""


def _differing_tests(results: list[Result]) -> list[str]:
    names = sorted(set().union(*(r.tests for r in results))) if results else []
    return [t for t in names if len({_status(r, t) for r in results}) > 1]


def _status(result: Result, test_id: str) -> TestStatus:
    return result.tests.get(test_id, TestStatus.missing)
