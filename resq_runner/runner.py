"""One task through the pipeline, and a run of many tasks on a bounded pool of workers.

    task folder ─▶ task image ─▶ system.solve(view, workspace) ─▶ patch ─▶ evaluate (fresh container) ─▶ Result
"""

from __future__ import annotations

import contextlib
import errno
import platform
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import docker
import requests.exceptions

from . import __version__, environments, offline
from .errors import AuthError, InfraError, ResqError, RunFolderError, TaskError
from .grading import GRADER_VERSION, evaluate
from .grading.challenge import blocked, evaluate_challenge
from .grading.evaluate import eval_sandbox
from .grading.retrieval import retrieval
from .models import (Evaluation, ImageRef, Outcome, Result, RunManifest, SystemOutput, SystemSpec, TaskFolder,
                     Timings, Verdict, now_utc)
from .results import (Journal, RunLock, RunPaths, cache_key, check_out_folder, final_results, folder_error,
                      read_manifest, read_results, write_manifest)
from .sandbox import Limits, Sandbox, connect, remove_run_containers
from .sandbox_pool import ContainerPool
from .systems import System, Workspace, make_system
from .systems.base import WorkspaceSetup
from .tasks import (MAX_PATCH_BYTES, check_gold_patch, gold_patch, gold_program, load_suite, suite_hash, task_hash,
                    task_view)
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
    grace_s: float = 20.0  # after Ctrl-C, how long running evaluations may take to finish before they are killed
    redo: list[Outcome] = field(default_factory=list)  # final rows with these outcomes run again on resume
    label: str = ""  # the named system (resq.yaml) this run is; recorded in the manifest for reports


class NotStarted(Exception):
    """The run was stopping before the system saw this task: nothing happened, so no row is written."""


class Listener:
    """What the runner tells whoever watches it (the CLI draws a progress bar from these)."""

    def started(self, paths: RunPaths, total: int, skipped: int) -> None: ...

    def finished_task(self, result: Result) -> None: ...

    def message(self, text: str) -> None: ...


def new_run_id(system: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{system}-{secrets.token_hex(2)}"


def run_suite(options: RunOptions, listener: Listener = Listener()) -> tuple[RunPaths, list[Result]]:
    if options.out is not None:
        check_out_folder(options.out)
    tasks = _with_earlier_parts(load_suite(options.suite), options.only) if options.only else \
        load_suite(options.suite)
    _check_graders(tasks)
    execute = _executor(options)  # a cluster is joined and checked before the run writes anything
    system = make_system(options.system)
    if getattr(system, "needs_gold", False):
        for tf in tasks:
            if tf.task.kind == "repo-edit":
                check_gold_patch(tf)
    client = connect()
    notes = system.prepare([tf.task.id for tf in tasks]) if hasattr(system, "prepare") else []
    # unique even when two runs share a folder name: it labels containers
    run_id = new_run_id(options.label or options.system.name)
    paths = RunPaths(options.out.resolve() if options.out else Path("runs") / run_id)
    with RunLock(paths):
        previous = read_results(paths.results)  # validates every row before anything is written
        manifest = _open_run(options, tasks, paths, run_id)
        for note in notes:
            listener.message(note)
        _record_notes(paths, notes)
        remove_run_containers(client, manifest.run_id, mine_or_orphaned=True)  # what a killed runner left
        journal = Journal(paths.results)
        environments_by_name = {name: environments.ensure_environment(client, name, log=listener.message)
                                for name in sorted({tf.task.environment.name for tf in tasks})}
        environments.ensure_spec_environments(client, tasks, log=listener.message)
        if offline.enabled():  # a missing snapshot is one error line now, not an infra_error retried per task
            for tf in tasks:
                if tf.task.snapshot is not None and tf.task.snapshot.kind != "image":
                    materialize(tf, environments.cache_dir())
        wanted = [(tf, sample) for tf in tasks for sample in range(max(1, options.samples))]
        graded = final_results(previous)
        done = {key for key in _already_graded(client, paths, wanted, environments_by_name, graded)
                if graded[key].outcome not in options.redo}
        todo = [(tf, sample) for tf, sample in wanted if (tf.task.id, sample) not in done]
        listener.started(paths, len(wanted), len(wanted) - len(todo))
        pool = _container_pool(client, manifest.run_id, options, [tf for tf, _ in todo], environments_by_name) \
            if options.executor == "local" else None  # cluster nodes grade on their own engines
        pipeline = Pipeline(client, system, options.system, manifest.run_id, paths, options.limits, pool)
        pipeline.oracle_context = options.oracle_context
        pipeline.budget = options.budget
        earlier = {key: result.outcome for key, result in graded.items() if key in done}
        try:
            if execute is None:
                RunLoop(pipeline, environments_by_name, options, journal, listener).run(todo, earlier)
            else:
                with contextlib.closing(execute(pipeline, todo, environments_by_name, options, earlier)) as rows:
                    for result in rows:  # closing: a stop cancels what the cluster still runs, at once
                        journal.append(result)
                        listener.finished_task(result)
                        if result.stops_run:
                            raise run_stopped(result)
        finally:
            if pool:
                pool.close()
            remove_run_containers(client, manifest.run_id, mine_or_orphaned=True)
    rows = read_results(paths.results)
    final = {**{(r.task_id, r.sample): r for r in rows if r.outcome is Outcome.skipped_budget}, **final_results(rows)}
    return paths, [final[(tf.task.id, sample)] for tf, sample in wanted if (tf.task.id, sample) in final]


def run_stopped(result: Result) -> AuthError:
    """The error that ends a run after a row that says no later task can succeed (refused credentials)."""
    return AuthError(f"{result.task_id}: {result.reason}; the run stopped and started no further task: fix the "
                     "credentials, then run the same command with --redo system_error to resume")


def _record_notes(paths: RunPaths, notes: list[str]) -> None:
    """What a system said about its inputs before the run (e.g. predictions naming no task), kept with the run."""
    if notes:
        try:
            with open(paths.root / "system_notes.txt", "a") as handle:
                handle.writelines(f"{note}\n" for note in notes)
        except OSError as exc:
            raise folder_error(paths.root / "system_notes.txt", exc) from exc


def _open_run(options: RunOptions, tasks: list[TaskFolder], paths: RunPaths, run_id: str) -> RunManifest:
    """A new run folder, or the existing one to resume (which must hold a run of the same system)."""
    existing = read_manifest(paths)
    if existing is not None:
        if existing.system != options.system:
            raise ResqError(f"{paths.root}: holds a run of system '{existing.system.name}' "
                            f"({existing.system.config}); choose another --out for this system")
        return existing
    manifest = RunManifest(
        run_id=run_id, suite=options.suite, suite_hash=suite_hash(tasks), system=options.system,
        suite_path=str(tasks[0].root.parent) if tasks else "",
        resq_version=__version__, grader_version=GRADER_VERSION, started_at=now_utc(),
        machine={"python": platform.python_version(), "platform": platform.platform()},
        task_ids=[tf.task.id for tf in tasks], label=options.label)
    write_manifest(paths, manifest)
    return manifest


def _already_graded(client: docker.DockerClient, paths: RunPaths, wanted: list[tuple[TaskFolder, int]],
                    envs: dict[str, ImageRef], final: dict[tuple[str, int], Result]) -> set[tuple[str, int]]:
    """(task, sample) pairs whose final row still holds: same cache key (task content, the recorded patch or
    program, image, grader version). A row graded without a submission (a blocked later part) holds while the
    task is unchanged."""
    done = set()
    for tf, sample in wanted:
        row = final.get((tf.task.id, sample))
        if row is None:
            continue
        submitted = _recorded_submission(paths.task_logs(tf.task.id, row.attempt, sample), tf)
        if submitted is None:
            if row.task_hash == task_hash(tf) and not row.image_digest:
                done.add((tf.task.id, sample))
            continue
        image = task_image(client, tf, envs[tf.task.environment.name])
        if cache_key(task_hash(tf), submitted, image.id, GRADER_VERSION) == row.cache_key:
            done.add((tf.task.id, sample))
    return done


def _recorded_submission(log_dir: Path, tf: TaskFolder) -> str | None:
    name = "solution.py" if tf.task.kind == "challenge" else "patch.diff"
    for candidate in (log_dir / name, log_dir / "patch.diff"):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8", errors="replace")
    return None


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
        if snapshot.kind == "image":
            continue  # its thin layer's tag needs the instance image's id; the pool creates on demand
        key = (str((tf.root / getattr(snapshot, "path", ".")).resolve()), snapshot.model_dump_json())
        if key not in hashes:  # setdefault would hash the snapshot for every task anyway
            hashes[key] = snapshot_hash(tf)
        pool.expect([environments.expected_task_tag(tf.task, envs[tf.task.environment.name], hashes[key])])
    return pool


def _executor(options: RunOptions):
    """None for the local pool (RunLoop); a cluster executor, called like RunLoop's rows, for Ray."""
    if options.executor == "ray":
        from .cluster import RayExecutor

        return RayExecutor.connect(options.address, ship_images=options.ship_images)
    return None


def _with_earlier_parts(tasks: list[TaskFolder], only: list[str]) -> list[TaskFolder]:
    """The tasks asked for, plus the earlier parts of any later part among them (it is shown only after them)."""
    by_id = {tf.task.id: tf for tf in tasks}
    repeated = sorted({task_id for task_id in only if only.count(task_id) > 1})
    if repeated:
        raise TaskError(f"--task {', '.join(repeated)} given more than once; name each task once")
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


class RunLoop:
    """The worker pool: schedules tasks, journals each result as it comes, retries infra errors with backoff.

    A later part of a challenge waits for its earlier parts (of the same sample): it runs once they all passed, and
    is graded `blocked` (without the system seeing it) as soon as one of them ends otherwise.

    On Ctrl-C (or SIGTERM, which the CLI turns into the same interrupt) nothing new starts; running evaluations
    get `grace_s` seconds to finish and be journaled, then their containers are removed and the interrupt goes on.
    """

    def __init__(self, pipeline: "Pipeline", envs: dict[str, ImageRef], options: RunOptions, journal: Journal,
                 listener: Listener):
        self.pipeline, self.envs, self.options = pipeline, envs, options
        self.journal, self.listener = journal, listener
        self.stop = threading.Event()
        self.pending: dict[Future, tuple[TaskFolder, int, int]] = {}
        self.outcomes: dict[tuple[str, int], Outcome] = {}
        self.waiting: list[tuple[TaskFolder, int]] = []
        self.scheduled: set[str] = set()

    def run(self, todo: list[tuple[TaskFolder, int]], earlier: dict[tuple[str, int], Outcome]) -> None:
        self.outcomes = dict(earlier)
        self.waiting = [(tf, sample) for tf, sample in todo if _earlier_parts(tf)]
        self.scheduled = {tf.task.id for tf, _sample in todo}
        with ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="resq") as self.pool:
            for tf, sample in todo:
                if not _earlier_parts(tf):
                    self._submit(tf, sample, 1, delay=0)
            try:
                self._release()
                while self.pending:
                    finished, _ = wait(self.pending, timeout=1, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self._collect(future, retry=True)
                    self._release()
            except BaseException:
                self._shut_down()
                raise

    def _submit(self, tf: TaskFolder, sample: int, attempt: int, delay: float) -> None:
        environment = self.envs[tf.task.environment.name]

        def job() -> Result:
            if delay and self.stop.wait(delay):
                return self.pipeline.interrupted(tf, attempt, sample)
            return self.pipeline.run_within_budget(tf, environment, attempt, self.stop, sample)

        self.pending[self.pool.submit(job)] = (tf, sample, attempt)

    def _collect(self, future: Future, retry: bool) -> None:
        tf, sample, attempt = self.pending.pop(future)
        try:
            result = future.result()
        except NotStarted:
            return  # the run is stopping: nothing happened to this task, so there is nothing to journal
        self._record(result)
        if result.stops_run:
            raise run_stopped(result)
        if retry and result.outcome is Outcome.infra_error and attempt <= self.options.retries:
            self._submit(tf, sample, attempt + 1, delay=min(2 ** attempt, 10))
        elif result.outcome is not Outcome.infra_error:
            self.outcomes[(tf.task.id, sample)] = result.outcome

    def _record(self, result: Result) -> None:
        self.journal.append(result)
        self.listener.finished_task(result)

    def _release(self) -> None:
        """Later parts whose earlier parts all passed are scheduled; those with one that did not are blocked."""
        for tf, sample in list(self.waiting):
            parts = _earlier_parts(tf)
            states = [self.outcomes.get((part, sample)) for part in parts]
            failed = next((part for part, state in zip(parts, states) if state not in (None, Outcome.passed)), None)
            unscheduled = [part for part, state in zip(parts, states) if state is None and part not in self.scheduled]
            if failed or unscheduled:
                self.waiting.remove((tf, sample))
                part = failed or unscheduled[0]
                state = self.outcomes[(part, sample)].value if failed else "not run"
                result = self.pipeline.blocked_result(tf, sample, part, state)
                self._record(result)
                self.outcomes[(tf.task.id, sample)] = result.outcome
            elif all(state is Outcome.passed for state in states):
                self.waiting.remove((tf, sample))
                self._submit(tf, sample, 1, delay=0)

    def _shut_down(self) -> None:
        self.stop.set()
        for future in list(self.pending):
            if future.cancel():
                self.pending.pop(future)
        self.listener.message(f"stopping: waiting up to {self.options.grace_s:.0f} s for "
                              f"{len(self.pending)} running evaluation(s)")
        try:
            self._drain(self.options.grace_s)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        finally:
            remove_run_containers(self.pipeline.client, self.pipeline.run_id, mine_or_orphaned=True)
            self._drain(30, journal=False)

    def _drain(self, seconds: float, journal: bool = True) -> None:
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline:
            finished, _ = wait(self.pending, timeout=max(0.0, deadline - time.monotonic()),
                               return_when=FIRST_COMPLETED)
            for future in finished:
                if journal:
                    try:
                        self._collect(future, retry=False)
                    except Exception:
                        self.pending.pop(future, None)
                else:
                    self.pending.pop(future, None)


class Pipeline:
    """Everything one task goes through; safe to call from several worker threads."""

    oracle_context = False

    def __init__(self, client: docker.DockerClient, system: System, spec: SystemSpec, run_id: str, paths: RunPaths,
                 limits: Limits, pool: ContainerPool | None = None):
        self.client, self.system, self.spec, self.run_id = client, system, spec, run_id
        self.paths, self.limits, self.pool = paths, limits, pool
        self.budget = None
        self.halted = threading.Event()  # set by a row that stops the run (refused credentials)

    def abort(self) -> None:
        remove_run_containers(self.client, self.run_id, mine_or_orphaned=True)

    def run_task(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                 sample: int = 0) -> Result:
        try:
            return self._run_task(tf, environment, attempt, stop, sample)
        except OSError as exc:
            in_run_folder = exc.filename and Path(exc.filename).resolve().is_relative_to(self.paths.root.resolve())
            if in_run_folder or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                raise folder_error(Path(exc.filename) if in_run_folder else self.paths.root, exc) from exc
            raise

    def interrupted(self, tf: TaskFolder, attempt: int, sample: int) -> Result:
        """The row of a retry that the interrupt cancelled while it waited out its backoff."""
        now = now_utc()
        return Result(run_id=self.run_id, task_id=tf.task.id, task_hash=task_hash(tf), system=self.spec,
                      sample=sample, attempt=attempt, outcome=Outcome.infra_error,
                      reason="the run was interrupted before the retry", started_at=now, finished_at=now)

    def _run_task(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                  sample: int) -> Result:
        started_at, timings = now_utc(), Timings()
        log_dir = self.paths.task_logs(tf.task.id, attempt, sample)
        log_dir.mkdir(parents=True, exist_ok=True)
        image, output, stops_run = None, SystemOutput(), False
        try:
            clock = time.perf_counter()
            image = self._task_image(tf, environment)
            timings.image = time.perf_counter() - clock
            if stop.is_set() or self.halted.is_set():
                raise NotStarted(tf.task.id)
            clock = time.perf_counter()
            try:
                output = self._solve(tf, image, log_dir)
            except AuthError as exc:  # recorded as the system's error; the run loop then stops the run
                output, stops_run = SystemOutput(error=str(exc)), True
                self.halted.set()  # from now on no task of this pipeline starts, even before the loop hears
            timings.system = time.perf_counter() - clock
            if len(output.patch.encode()) > MAX_PATCH_BYTES:
                output = output.model_copy(update={"error": f"the patch has more than {MAX_PATCH_BYTES} bytes"})
            (log_dir / "patch.diff").write_text(output.patch)
            if output.log:
                (log_dir / "system.log").write_text(output.log)
            if output.error:
                verdict = Verdict(outcome=Outcome.system_error, reason=output.error)
            else:
                evaluation = self._evaluate(tf, image, output, log_dir)
                verdict = evaluation.verdict.with_note(output.note)
                _copy_eval_timings(evaluation, timings)
        except RunFolderError:
            raise
        except (InfraError, ResqError) as exc:
            verdict = Verdict(outcome=Outcome.infra_error, reason=str(exc))
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            verdict = Verdict(outcome=Outcome.infra_error, reason=f"container engine error: {exc}")
        digest = image.id if image else ""
        thash = task_hash(tf)
        submitted = output.patch if output.program is None else output.program
        read = output.context_files
        accounting = None if read is None else retrieval(gold_patch(tf), output.patch, read)
        return Result(
            run_id=self.run_id, task_id=tf.task.id, task_hash=thash, system=self.spec, sample=sample,
            attempt=attempt,
            outcome=verdict.outcome, reason=verdict.reason, tests=verdict.tests, fail_to_pass=verdict.fail_to_pass,
            pass_to_pass=verdict.pass_to_pass, challenge=verdict.challenge, usage=output.usage, timings=timings,
            image_digest=digest, cache_key=cache_key(thash, submitted, digest, GRADER_VERSION),
            started_at=started_at, finished_at=now_utc(), log_dir=str(log_dir), context_files=read,
            retrieval=accounting, stops_run=stops_run)

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
        workspace = Workspace(lambda setup: self._workspace_sandbox(image, setup), log_dir=log_dir,
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

    def _workspace_sandbox(self, image: ImageRef, setup: WorkspaceSetup) -> Sandbox:
        sandbox = Sandbox(self.client, setup.image(image) if setup.image else image.tag, self.run_id, "workspace",
                          command=["sleep", "infinity"], user="1000:1000",
                          limits=Limits(cpus=self.limits.cpus, memory=self.limits.memory, pids=self.limits.pids,
                                        network=not offline.enabled()),
                          network_mode=setup.network, mounts=setup.mounts)
        sandbox.start()
        return sandbox


def task_image(client: docker.DockerClient, tf: TaskFolder, environment: ImageRef) -> ImageRef:
    """The image a system's workspace and every evaluation of the task start from (built once, then cached)."""
    if tf.task.snapshot is None:
        return environment  # a challenge: the program runs in the environment itself
    if tf.task.snapshot.kind == "image":
        return environments.ensure_image_task(client, tf.task.snapshot, log=lambda _m: None)
    ref = tf.task.environment
    environment = environments.ensure_task_environment(client, ref, environment, users=[tf.ref], log=lambda _m: None)
    workspace = materialize(tf, environments.cache_dir())
    return environments.ensure_task_image(
        client, environment, workspace, snapshot_hash(tf), tf.task.setup, log=lambda _m: None,
        pip_requirements=ref.pip_requirements, python_version=environments.task_python(ref),
        install=environments.install_commands(ref))


def _copy_eval_timings(evaluation: Evaluation, timings: Timings) -> None:
    timings.eval_start, timings.eval_run = evaluation.eval_start, evaluation.eval_run
    timings.eval_collect, timings.teardown = evaluation.eval_collect, evaluation.teardown
    timings.eval_apply, timings.eval_tests = evaluation.eval_apply, evaluation.eval_tests

