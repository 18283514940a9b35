"""One task through the pipeline, and a run of many tasks on a bounded pool of workers.

    task folder ─▶ task image ─▶ system.solve(view, workspace) ─▶ patch ─▶ evaluate (fresh container) ─▶ Result
"""

from __future__ import annotations

import platform
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import docker

from . import __version__, environments, offline
from .errors import InfraError, ResqError, TaskError
from .grading import GRADER_VERSION, evaluate
from .grading.challenge import blocked, evaluate_challenge
from .grading.retrieval import retrieval
from .grading.evaluate import eval_sandbox
from .models import (Evaluation, ImageRef, Outcome, Result, RunManifest, SystemOutput, SystemSpec, TaskFolder,
                     Timings, Verdict, now_utc)
from .results import Journal, RunPaths, cache_key, final_results, read_manifest, read_results, write_manifest
from .sandbox import Limits, Sandbox, connect, remove_run_containers
from .sandbox_pool import ContainerPool
from .systems import System, Workspace, make_system
from .tasks import gold_patch, gold_program, load_suite, suite_hash, task_hash, task_view
from .tasks.snapshots import materialize, snapshot_hash


@dataclass
class RunOptions:
    suite: str
    system: SystemSpec
    out: Path | None = None
    jobs: int = 1
    only: list[str] = field(default_factory=list)
    retries: int = 2
    limits: Limits = Limits()
    oracle_context: bool = False
    samples: int = 1
    budget: object | None = None  # a budget.BudgetGate: tasks it does not admit are skipped_budget
    pool: int | None = None  # eval containers made ahead of need; None: max(2, jobs); 0: none
    executor: str = "local"  # or "ray": see cluster.py
    address: str = "auto"
    ship_images: bool = False


class Listener:
    """What the runner tells whoever watches it (the CLI draws a progress bar from these)."""

    def started(self, paths: RunPaths, total: int, skipped: int) -> None: ...

    def finished_task(self, result: Result) -> None: ...

    def message(self, text: str) -> None: ...


def new_run_id(system: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{system}-{secrets.token_hex(2)}"


def run_suite(options: RunOptions, listener: Listener = Listener()) -> tuple[RunPaths, list[Result]]:
    tasks = _with_earlier_parts(load_suite(options.suite), options.only) if options.only else \
        load_suite(options.suite)
    _check_graders(tasks)
    execute = _executor(options)  # a cluster is joined and checked before the run writes anything
    system = make_system(options.system)
    client = connect()
    notes = system.prepare([tf.task.id for tf in tasks]) if hasattr(system, "prepare") else []
    paths, manifest = _open_run(options, tasks)
    for note in notes:
        listener.message(note)
    _record_notes(paths, notes)
    journal = Journal(paths.results)
    done = final_results(read_results(paths.results))
    wanted = [(tf, sample) for tf in tasks for sample in range(max(1, options.samples))]
    todo = [(tf, sample) for tf, sample in wanted if (tf.task.id, sample) not in done]
    listener.started(paths, len(wanted), len(wanted) - len(todo))
    environments_by_name = {name: environments.ensure_environment(client, name, log=listener.message)
                            for name in sorted({tf.task.environment.name for tf, _ in todo})}
    if offline.enabled():  # a missing snapshot is one error line now, not an infra_error retried per task
        for tf in {tf.task.id: tf for tf, _ in todo}.values():
            materialize(tf, environments.cache_dir())
    pool = _container_pool(client, manifest.run_id, options, [tf for tf, _ in todo], environments_by_name) \
        if options.executor == "local" else None  # cluster nodes grade on their own engines
    pipeline = Pipeline(client, system, options.system, manifest.run_id, paths, options.limits, pool)
    pipeline.oracle_context = options.oracle_context
    pipeline.budget = options.budget
    earlier = {key: result.outcome for key, result in done.items()}
    try:
        for result in execute(pipeline, todo, environments_by_name, options, earlier):
            journal.append(result)
            listener.finished_task(result)
    finally:
        if pool:
            pool.close()
        remove_run_containers(client, manifest.run_id)
    rows = read_results(paths.results)
    final = {**{(r.task_id, r.sample): r for r in rows if r.outcome is Outcome.skipped_budget}, **final_results(rows)}
    return paths, [final[(tf.task.id, sample)] for tf, sample in wanted if (tf.task.id, sample) in final]


def _record_notes(paths: RunPaths, notes: list[str]) -> None:
    """What a system said about its inputs before the run (e.g. predictions naming no task), kept with the run."""
    if notes:
        with open(paths.root / "system_notes.txt", "a") as handle:
            handle.writelines(f"{note}\n" for note in notes)


def _container_pool(client: docker.DockerClient, run_id: str, options: RunOptions, todo: list[TaskFolder],
                    envs: dict[str, ImageRef]) -> ContainerPool | None:
    """Eval containers created ahead, for the task images the run will need in the order it needs them."""
    size = max(2, options.jobs) if options.pool is None else options.pool
    if size <= 0 or not todo:
        return None
    pool = ContainerPool(lambda tag, labels: eval_sandbox(client, tag, run_id, options.limits, labels), size)
    hashes: dict[tuple[str, str], str] = {}  # tasks sharing a snapshot folder hash it once
    for tf in todo:
        snapshot = tf.task.snapshot
        if snapshot is None:
            continue  # a challenge runs in the environment image with a harness of its own
        key = (str((tf.root / getattr(snapshot, "path", ".")).resolve()), snapshot.model_dump_json())
        hashes.setdefault(key, snapshot_hash(tf))
        pool.expect([environments.task_image_tag(envs[tf.task.environment.name], hashes[key], tf.task.setup)])
    return pool


def _open_run(options: RunOptions, tasks: list[TaskFolder]) -> tuple[RunPaths, RunManifest]:
    """A new run folder, or the existing one to resume (which must hold a run of the same system)."""
    out = options.out
    if out is not None:
        existing = read_manifest(RunPaths(out))
        if existing is not None:
            if existing.system != options.system:
                raise ResqError(f"{out}: holds a run of system '{existing.system.name}' "
                                f"({existing.system.config}); choose another --out for this system")
            return RunPaths(out), existing
    run_id = new_run_id(options.system.name)  # unique even when two runs share a folder name: it labels containers
    paths = RunPaths(out or Path("runs") / run_id)
    manifest = RunManifest(
        run_id=run_id, suite=options.suite, suite_hash=suite_hash(tasks), system=options.system,
        suite_path=str(tasks[0].root.parent) if tasks else "",
        resq_version=__version__, grader_version=GRADER_VERSION, started_at=now_utc(),
        machine={"python": platform.python_version(), "platform": platform.platform()},
        task_ids=[tf.task.id for tf in tasks])
    write_manifest(paths, manifest)
    return paths, manifest


def _executor(options: RunOptions):
    if options.executor == "ray":
        from .cluster import RayExecutor

        return RayExecutor.connect(options.address, ship_images=options.ship_images)
    return _run_pool


def _with_earlier_parts(tasks: list[TaskFolder], only: list[str]) -> list[TaskFolder]:
    """The tasks asked for, plus the earlier parts of any later part among them (it is shown only after them)."""
    by_id = {tf.task.id: tf for tf in tasks}
    unknown = [task_id for task_id in only if task_id not in by_id]
    if unknown:
        suite = tasks[0].root.parent
        raise TaskError(f"{suite}: no task named {', '.join(unknown)} (see `resq tasks list {suite}`)")
    wanted, queue = set(), list(only)
    while queue:
        task_id = queue.pop()
        if task_id in by_id and task_id not in wanted:
            wanted.add(task_id)
            queue.extend(_earlier_parts(by_id[task_id]))
    return [tf for tf in tasks if tf.task.id in wanted]


def _check_graders(tasks: list[TaskFolder]) -> None:
    """Fail before any work when a task needs an optional grader that is not installed."""
    parsers = {tf.task.tests.log_parser for tf in tasks if tf.task.tests and tf.task.tests.framework == "log"}
    if parsers:
        from .grading.logs import log_parser

        for name in parsers:
            log_parser(name)


def _earlier_parts(tf: TaskFolder) -> list[str]:
    return tf.task.challenge.after if tf.task.challenge else []


def _run_pool(pipeline: "Pipeline", todo: list[tuple[TaskFolder, int]], envs: dict[str, ImageRef],
              options: RunOptions, earlier: dict[tuple[str, int], Outcome] | None = None):
    """Yields results in completion order; infra errors are retried with backoff, then reported as such.

    A later part of a challenge waits for its earlier parts (of the same sample): it runs once they all passed,
    and is graded `blocked` (without the system seeing it) as soon as one of them ends otherwise.
    """
    stop = threading.Event()
    outcomes = dict(earlier or {})
    waiting = [(tf, sample) for tf, sample in todo if _earlier_parts(tf)]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="resq") as pool:
        pending: dict[Future, tuple[TaskFolder, int, int]] = {}

        def submit(tf: TaskFolder, sample: int, attempt: int) -> None:
            future = pool.submit(pipeline.run_within_budget, tf, envs[tf.task.environment.name], attempt, stop,
                                 sample)
            pending[future] = (tf, sample, attempt)

        def release():
            for tf, sample in list(waiting):
                parts = _earlier_parts(tf)
                states = [outcomes.get((part, sample)) for part in parts]
                failed = next((part for part, state in zip(parts, states) if state not in (None, Outcome.passed)),
                              None)
                unscheduled = [part for part, state in zip(parts, states) if state is None and part not in scheduled]
                if failed or unscheduled:
                    waiting.remove((tf, sample))
                    part = failed or unscheduled[0]
                    state = outcomes[(part, sample)].value if failed else "not run"
                    yield pipeline.blocked_result(tf, sample, part, state)
                elif all(state is Outcome.passed for state in states):
                    waiting.remove((tf, sample))
                    submit(tf, sample, 1)

        scheduled = {tf.task.id for tf, _sample in todo}
        for tf, sample in todo:
            if not _earlier_parts(tf):
                submit(tf, sample, 1)
        try:
            yield from release()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    tf, sample, attempt = pending.pop(future)
                    result = future.result()
                    if result.outcome is Outcome.infra_error and attempt <= options.retries:
                        time.sleep(min(2 ** attempt, 10))
                        submit(tf, sample, attempt + 1)
                    else:
                        outcomes[(tf.task.id, sample)] = result.outcome
                    yield result
                yield from release()
        except BaseException:
            stop.set()
            for future in pending:
                future.cancel()
            pipeline.abort()  # running evaluations end when their containers go, so the pool can shut down
            raise


class Pipeline:
    """Everything one task goes through; safe to call from several worker threads."""

    oracle_context = False

    def __init__(self, client: docker.DockerClient, system: System, spec: SystemSpec, run_id: str, paths: RunPaths,
                 limits: Limits, pool: ContainerPool | None = None):
        self.client, self.system, self.spec, self.run_id = client, system, spec, run_id
        self.paths, self.limits, self.pool = paths, limits, pool
        self.budget = None

    def abort(self) -> None:
        remove_run_containers(self.client, self.run_id)

    def run_task(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                 sample: int = 0) -> Result:
        started_at, timings = now_utc(), Timings()
        log_dir = self.paths.task_logs(tf.task.id, attempt, sample)
        log_dir.mkdir(parents=True, exist_ok=True)
        image, output = None, SystemOutput()
        try:
            clock = time.perf_counter()
            image = self._task_image(tf, environment)
            timings.image = time.perf_counter() - clock
            if stop.is_set():
                raise InfraError("the run was interrupted before this task started")
            clock = time.perf_counter()
            output = self._solve(tf, image, log_dir)
            timings.system = time.perf_counter() - clock
            (log_dir / "patch.diff").write_text(output.patch)
            if output.log:
                (log_dir / "system.log").write_text(output.log)
            if output.error:
                verdict = Verdict(outcome=Outcome.system_error, reason=output.error)
            else:
                evaluation = self._evaluate(tf, image, output, log_dir)
                verdict = evaluation.verdict
                _copy_eval_timings(evaluation, timings)
        except (InfraError, ResqError) as exc:
            verdict = Verdict(outcome=Outcome.infra_error, reason=str(exc))
        except docker.errors.DockerException as exc:
            verdict = Verdict(outcome=Outcome.infra_error, reason=f"container engine error: {exc}")
        digest = image.id if image else ""
        thash = task_hash(tf)
        submitted = output.patch if output.program is None else output.program
        read = output.context_files
        accounting = None if read is None else retrieval(gold_patch(tf), output.patch, read)
        return Result(
            run_id=self.run_id, task_id=tf.task.id, task_hash=thash, system=self.spec, sample=sample, attempt=attempt,
            outcome=verdict.outcome, reason=verdict.reason, tests=verdict.tests, fail_to_pass=verdict.fail_to_pass,
            pass_to_pass=verdict.pass_to_pass, challenge=verdict.challenge, usage=output.usage, timings=timings,
            image_digest=digest, cache_key=cache_key(thash, submitted, digest, GRADER_VERSION),
            started_at=started_at, finished_at=now_utc(), log_dir=str(log_dir), context_files=read,
            retrieval=accounting)

    def blocked_result(self, tf: TaskFolder, sample: int, earlier: str, outcome: str) -> Result:
        verdict = blocked(tf.task.challenge, earlier, outcome)
        now = now_utc()
        return Result(run_id=self.run_id, task_id=tf.task.id, task_hash=task_hash(tf), system=self.spec,
                      sample=sample, outcome=verdict.outcome, reason=verdict.reason, challenge=verdict.challenge,
                      started_at=now, finished_at=now)

    def _evaluate(self, tf: TaskFolder, image: ImageRef, output: SystemOutput, log_dir: Path) -> Evaluation:
        if tf.task.kind == "challenge":
            return evaluate_challenge(self.client, image, tf, output, self.run_id, log_dir, self.limits)
        return evaluate(self.client, image, tf, output.patch, self.run_id, log_dir, self.limits, pool=self.pool)

    def run_within_budget(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                          sample: int = 0) -> Result:
        """run_task, unless the run's budget does not admit the task: then a skipped_budget row, nothing run."""
        if self.budget is None:
            return self.run_task(tf, environment, attempt, stop, sample)
        refusal = self.budget.admit()
        if refusal is not None:
            return Result(run_id=self.run_id, task_id=tf.task.id, task_hash=task_hash(tf), system=self.spec,
                          sample=sample, attempt=attempt, outcome=Outcome.skipped_budget, reason=refusal,
                          started_at=now_utc(), finished_at=now_utc())
        result = self.run_task(tf, environment, attempt, stop, sample)
        self.budget.settle(result)
        return result

    def _task_image(self, tf: TaskFolder, environment: ImageRef) -> ImageRef:
        return task_image(self.client, tf, environment)

    def _solve(self, tf: TaskFolder, image: ImageRef, log_dir: Path) -> SystemOutput:
        workspace = Workspace(lambda: self._workspace_sandbox(image), log_dir=log_dir,
                              source_dir=lambda: materialize(tf, environments.cache_dir()))
        view = task_view(tf, self.oracle_context)
        try:
            if getattr(self.system, "needs_gold", False) and tf.task.kind == "challenge":
                return self.system.solve(view, workspace, gold_patch="", gold_program=gold_program(tf))
            if getattr(self.system, "needs_gold", False):
                return self.system.solve(view, workspace, gold_patch=gold_patch(tf))
            return self.system.solve(view, workspace)
        except (InfraError, ResqError):
            raise
        except Exception as exc:  # a system's own bug is its outcome, not the run's end
            return SystemOutput(error=f"{type(exc).__name__}: {exc}")
        finally:
            workspace.close()

    def _workspace_sandbox(self, image: ImageRef) -> Sandbox:
        sandbox = Sandbox(self.client, image.tag, self.run_id, "workspace", command=["sleep", "infinity"],
                          user="1000:1000", limits=Limits(cpus=self.limits.cpus, memory=self.limits.memory,
                                                          pids=self.limits.pids, network=not offline.enabled()))
        sandbox.start()
        return sandbox


def task_image(client: docker.DockerClient, tf: TaskFolder, environment: ImageRef) -> ImageRef:
    """The image a system's workspace and every evaluation of the task start from (built once, then cached)."""
    if tf.task.snapshot is None:
        return environment  # a challenge: the program runs in the environment itself
    workspace = materialize(tf, environments.cache_dir())
    return environments.ensure_task_image(
        client, environment, workspace, snapshot_hash(tf), tf.task.setup, log=lambda _m: None,
        pip_requirements=tf.task.environment.pip_requirements,
        python_version=environments.load_definition(tf.task.environment.name).python_version)


def _copy_eval_timings(evaluation: Evaluation, timings: Timings) -> None:
    timings.eval_start, timings.eval_run = evaluation.eval_start, evaluation.eval_run
    timings.eval_collect, timings.teardown = evaluation.eval_collect, evaluation.teardown
    timings.eval_apply, timings.eval_tests = evaluation.eval_apply, evaluation.eval_tests

