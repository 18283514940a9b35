"""One task through the pipeline: task image, the system's patch, a fresh eval container, one Result row.

    task folder ─▶ task image ─▶ system.solve(view, workspace) ─▶ patch ─▶ evaluate (fresh container) ─▶ Result

The engine failing under the task is an infra_error row (retried by the executor's RetryPolicy); a task or input
error (TaskError, ResqError) is raised, which stops the run with one error line (see scheduling.py).
"""

from __future__ import annotations

import errno
import secrets
import threading
import time
from datetime import datetime
from pathlib import Path

import docker

from . import environments, offline
from .budget import BudgetGate
from .errors import AuthError, InfraError, ResqError, TaskError
from .grading import GRADER_VERSION, evaluate
from .grading.challenge import blocked, evaluate_challenge
from .grading.retrieval import retrieval
from .models import (Evaluation, ImageRef, Outcome, Result, SystemOutput, SystemSpec, TaskFolder, Timings, Verdict,
                     now_utc)
from .results import RunPaths, cache_key, folder_error
from .sandbox import Limits, Sandbox, remove_run_containers
from .sandbox_pool import ContainerPool
from .scheduling import ENGINE_ERRORS
from .systems import GoldSolution, System, Workspace
from .systems.base import QUICK_ROOT_LOOKUPS, WorkspaceSetup
from .tasks import MAX_PATCH_BYTES, challenge_of, gold_patch, gold_program, task_hash, task_view
from .tasks.snapshots import materialize, snapshot_hash


class NotStarted(Exception):
    """The run was stopping before the system saw this task: nothing happened, so no row is written."""


def new_run_id(system: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{system}-{secrets.token_hex(2)}"


class Pipeline:
    """Everything one task goes through; safe to call from several worker threads (scheduling.TaskRunner)."""

    def __init__(self, client: docker.DockerClient, system: System, spec: SystemSpec, run_id: str, paths: RunPaths,
                 limits: Limits, pool: ContainerPool | None = None, *, oracle_context: bool = False,
                 budget: BudgetGate | None = None):
        self.client, self.system, self.spec, self.run_id = client, system, spec, run_id
        self.paths, self.limits, self.pool = paths, limits, pool
        self.oracle_context = oracle_context  # the task's oracle context is shown to the system
        self.budget = budget  # tasks it does not admit are skipped_budget
        self.halted = threading.Event()  # set by a row that stops the run (refused credentials)

    def abort(self) -> None:
        remove_run_containers(self.client, self.run_id, mine_or_orphaned=True)

    def run_task(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                 sample: int = 0) -> Result:
        try:
            return self._run_task(tf, environment, attempt, stop, sample)
        except OSError as exc:
            in_run_folder = bool(exc.filename) and \
                Path(exc.filename).resolve().is_relative_to(self.paths.root.resolve())
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
            image = self.task_image(tf, environment)
            timings.image = time.perf_counter() - clock
            if stop.is_set() or self.halted.is_set():
                raise NotStarted(tf.task.id)
            clock = time.perf_counter()
            try:
                output = self._solve(tf, image, log_dir)
            except AuthError as exc:  # recorded as the system's error; the policy then stops the run
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
        except ENGINE_ERRORS as exc:  # task and input errors (ResqError) are raised: they stop the run
            reason = str(exc) if isinstance(exc, InfraError) else f"container engine error: {exc}"
            verdict = Verdict(outcome=Outcome.infra_error, reason=reason)
            if image is not None:  # the retry asks the engine for the image again
                environments.forget_task_image(image.tag)
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
        verdict = blocked(challenge_of(tf), earlier, outcome)
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
            return self.skipped_budget(tf, sample, attempt, refusal)
        result = self.run_task(tf, environment, attempt, stop, sample)
        self.budget.settle(result)
        return result

    def skipped_budget(self, tf: TaskFolder, sample: int, attempt: int, reason: str) -> Result:
        """The row of a task the budget did not admit: nothing was run."""
        return Result(run_id=self.run_id, task_id=tf.task.id, task_hash=task_hash(tf), system=self.spec,
                      sample=sample, attempt=attempt, outcome=Outcome.skipped_budget, reason=reason,
                      started_at=now_utc(), finished_at=now_utc())

    def task_image(self, tf: TaskFolder, environment: ImageRef) -> ImageRef:
        return task_image(self.client, tf, environment)

    def _solve(self, tf: TaskFolder, image: ImageRef, log_dir: Path) -> SystemOutput:
        workspace = Workspace(lambda setup: self._workspace_sandbox(image, setup), log_dir=log_dir,
                              source_dir=lambda: materialize(tf, environments.cache_dir()))
        view = task_view(tf, self.oracle_context)
        try:
            if self.system.needs_gold:
                return self.system.solve_with_gold(view, workspace, _gold(tf))
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
        sandbox.exec(["sh", "-c", QUICK_ROOT_LOOKUPS], user="root")
        return sandbox


def _gold(tf: TaskFolder) -> GoldSolution:
    if tf.task.kind == "challenge":
        return GoldSolution(patch="", program=gold_program(tf))
    return GoldSolution(patch=gold_patch(tf))


def task_image(client: docker.DockerClient, tf: TaskFolder, environment: ImageRef) -> ImageRef:
    """The image a system's workspace and every evaluation of the task start from (built once, then cached).
    A setup command that fails is the task's error (TaskError naming it), not the engine's."""
    if tf.task.snapshot is None:
        return environment  # a challenge: the program runs in the environment itself
    if tf.task.snapshot.kind == "image":
        return environments.ensure_image_task(client, tf.task.snapshot, log=lambda _m: None)
    ref = tf.task.environment
    environment = environments.ensure_task_environment(client, ref, environment, users=[tf.ref], log=lambda _m: None)
    workspace = materialize(tf, environments.cache_dir())
    try:
        return environments.ensure_task_image(
            client, environment, workspace, snapshot_hash(tf), tf.task.setup, log=lambda _m: None,
            pip_requirements=ref.pip_requirements, python_version=environments.task_python(ref),
            install=environments.install_commands(ref))
    except environments.BuildStepFailed as exc:
        raise TaskError(f"{tf.root / 'task.yaml'}: the task image does not build ({exc}); fix `setup` (or the "
                        "snapshot) so every setup command succeeds") from exc


def _copy_eval_timings(evaluation: Evaluation, timings: Timings) -> None:
    timings.eval_start, timings.eval_run = evaluation.eval_start, evaluation.eval_run
    timings.eval_collect, timings.teardown = evaluation.eval_collect, evaluation.teardown
    timings.eval_apply, timings.eval_tests = evaluation.eval_apply, evaluation.eval_tests

