"""A run of many tasks: the run folder, resume, and the executor that grades them (a local worker pool here, or
Ray in cluster.py); one task's way through the pipeline is pipeline.py, the scheduling policy scheduling.py.
"""

from __future__ import annotations

import platform
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import docker

from . import __version__, environments, offline
from .budget import BudgetGate
from .cluster import RayExecutor
from .errors import ResqError, TaskError
from .grading import GRADER_VERSION
from .grading.evaluate import eval_sandbox
from .models import ImageRef, Outcome, Result, RunManifest, SystemSpec, TaskFolder, now_utc
from .pipeline import NotStarted, Pipeline, new_run_id, task_image
from .results import (Journal, RunLock, RunPaths, cache_key, check_out_folder, final_results, folder_error,
                      read_manifest, read_results, write_manifest)
from .sandbox import Limits, connect, remove_run_containers
from .sandbox_pool import ContainerPool
from .scheduling import Batch, Executor, RetryPolicy, earlier_parts
from .systems import make_system
from .tasks import check_gold_patch, load_suite, suite_hash, task_hash
from .tasks.snapshots import materialize, snapshot_hash

__all__ = ["Listener", "LocalExecutor", "Pipeline", "QuietListener", "RunOptions", "new_run_id", "run_suite",
           "task_image"]


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
    budget: BudgetGate | None = None  # tasks it does not admit are skipped_budget
    pool: int | None = None  # eval containers made ahead of need; None: max(2, jobs); 0: none
    executor: str = "local"  # or "ray": see cluster.py
    address: str = "auto"
    ship_images: bool = False
    grace_s: float = 20.0  # after Ctrl-C, how long running evaluations may take to finish before they are killed
    redo: list[Outcome] = field(default_factory=list)  # final rows with these outcomes run again on resume
    label: str = ""  # the named system (resq.yaml) this run is; recorded in the manifest for reports


class Listener(Protocol):
    """What the runner tells whoever watches it (the CLI draws a progress bar from these)."""

    def started(self, paths: RunPaths, total: int, skipped: int) -> None: ...

    def finished_task(self, result: Result) -> None: ...

    def message(self, text: str) -> None: ...


class QuietListener:
    """A Listener that ignores everything (library callers and tests)."""

    def started(self, paths: RunPaths, total: int, skipped: int) -> None:
        pass

    def finished_task(self, result: Result) -> None:
        pass

    def message(self, text: str) -> None:
        pass


def run_suite(options: RunOptions, listener: Listener = QuietListener()) -> tuple[RunPaths, list[Result]]:
    if options.out is not None:
        check_out_folder(options.out)
    tasks = _with_earlier_parts(load_suite(options.suite), options.only) if options.only else \
        load_suite(options.suite)
    _check_graders(tasks)
    executor = _executor(options, listener)  # a cluster is joined and checked before the run writes anything
    system = make_system(options.system)
    if system.needs_gold:
        for tf in tasks:
            if tf.task.kind == "repo-edit":
                check_gold_patch(tf)
    notes = system.prepare([tf.task.id for tf in tasks])  # bad input is told before a missing engine
    client = connect()
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
        pipeline = Pipeline(client, system, options.system, manifest.run_id, paths, options.limits, pool,
                            oracle_context=options.oracle_context, budget=options.budget)
        earlier = {key: result.outcome for key, result in graded.items() if key in done}
        batch = Batch(pipeline, todo, environments_by_name, earlier, RetryPolicy(retries=options.retries),
                      jobs=options.jobs, grace_s=options.grace_s)

        def record(result: Result) -> None:
            journal.append(result)
            listener.finished_task(result)

        try:
            executor.run(batch, record)
        finally:
            if pool:
                pool.close()
            remove_run_containers(client, manifest.run_id, mine_or_orphaned=True)
    rows = read_results(paths.results)
    final = {**{(r.task_id, r.sample): r for r in rows if r.outcome is Outcome.skipped_budget}, **final_results(rows)}
    return paths, [final[(tf.task.id, sample)] for tf, sample in wanted if (tf.task.id, sample) in final]


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
    pool = ContainerPool(lambda tag, labels: eval_sandbox(client, tag, run_id, options.limits, labels), size,
                         start_ahead=True, threads=options.jobs)  # boot.py waits for its inputs on stdin
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


def _executor(options: RunOptions, listener: Listener) -> Executor:
    """The local worker pool, or a joined and checked Ray cluster."""
    if options.executor == "ray":
        return RayExecutor.connect(options.address, ship_images=options.ship_images)
    return LocalExecutor(listener.message)


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
            queue.extend(earlier_parts(by_id[task_id]))
    return [tf for tf in tasks if tf.task.id in wanted]


def _check_graders(tasks: list[TaskFolder]) -> None:
    """Fail before any work when a task needs an optional grader that is not installed."""
    parsers = {tf.task.tests.log_parser for tf in tasks
               if tf.task.tests and tf.task.tests.framework == "log" and tf.task.tests.log_parser}
    if parsers:
        from .grading.logs import log_parser

        for name in parsers:
            log_parser(name or "")


class LocalExecutor:
    """The local worker pool (scheduling.Executor): schedules a batch, hands each result to `record` as it comes,
    retries infra errors after the policy's backoff (in the worker, cut short by an interrupt), and releases later
    challenge parts through the batch's PartGate.

    On Ctrl-C (or SIGTERM, which the CLI turns into the same interrupt), or an error the policy says stops the run,
    nothing new starts; running evaluations get `grace_s` seconds to finish and be recorded, then the run's
    containers are removed and the error goes on.
    """

    def __init__(self, listener_message: Callable[[str], None]):
        self.message = listener_message
        self.stop = threading.Event()
        self.pending: dict[Future[Result], tuple[TaskFolder, int, int]] = {}

    def run(self, batch: Batch, record: Callable[[Result], None]) -> None:
        self.batch, self.record, self.gate = batch, record, batch.gate()
        with ThreadPoolExecutor(max_workers=max(1, batch.jobs), thread_name_prefix="resq") as self.pool:
            for tf, sample in self.gate.first():
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
        pipeline, environment = self.batch.pipeline, self.batch.envs[tf.task.environment.name]

        def job() -> Result:
            if delay and self.stop.wait(delay):
                return pipeline.interrupted(tf, attempt, sample)
            return pipeline.run_within_budget(tf, environment, attempt, self.stop, sample)

        self.pending[self.pool.submit(job)] = (tf, sample, attempt)

    def _collect(self, future: Future[Result], retry: bool) -> None:
        tf, sample, attempt = self.pending.pop(future)
        try:
            result = future.result()
        except NotStarted:
            return  # the run is stopping: nothing happened to this task, so there is nothing to journal
        self.record(result)
        policy = self.batch.policy
        stop = policy.stop_after(result)
        if stop is not None:
            raise stop
        if retry and policy.retries_after(result.outcome, attempt):
            self._submit(tf, sample, attempt + 1, delay=policy.backoff_s(attempt))
        else:
            self.gate.record(result)

    def _release(self) -> None:
        ready, blocked = self.gate.release(self.batch.pipeline.blocked_result)
        for result in blocked:
            self.record(result)
        for tf, sample in ready:
            self._submit(tf, sample, 1, delay=0)

    def _shut_down(self) -> None:
        self.stop.set()
        for future in list(self.pending):
            if future.cancel():
                self.pending.pop(future)
        self.message(f"stopping: waiting up to {self.batch.grace_s:.0f} s for {len(self.pending)} running "
                     "evaluation(s)")
        try:
            self._drain(self.batch.grace_s)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        finally:
            self.batch.pipeline.abort()
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
