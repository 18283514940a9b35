"""How a run schedules its evaluations, written once for every executor (the local pool, Ray) and for validate and
certify: which challenge parts may start, which attempts are retried and after how long, which errors stop the
run. Executors only decide *where* an evaluation runs.

Error tiers (see docs/DESIGN.md, "Error tiers"):
- a task or input error (TaskError, SetupError, any ResqError) or an error that must end the run (RunFolderError)
  is raised out of the evaluation: nothing new starts, running evaluations finish and are journaled, then the run
  ends with one `error:` line (exit 2); it is never retried and never an infra_error row;
- a row that says no later task can succeed (a system raised AuthError: the endpoint refused the credentials) is
  journaled as `system_error` with `stops_run`, then `stop_after` turns it into the run's error line the same way;
- the engine failing under a task (InfraError, Docker SDK and HTTP transport errors) is an `infra_error` row,
  retried `retries` times after an interruptible backoff;
- everything else a system does is its own outcome (`system_error`, `failed`, ...).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

import docker
import docker.errors
import requests.exceptions

from .budget import BudgetGate
from .errors import AuthError, InfraError, ResqError
from .models import ImageRef, Outcome, Result, SystemSpec, TaskFolder
from .results import RunPaths
from .sandbox import Limits

# The engine failing under a task: the task's row is infra_error and it is retried.
ENGINE_ERRORS: tuple[type[BaseException], ...] = (InfraError, docker.errors.DockerException,
                                                  requests.exceptions.RequestException)

Work = tuple[TaskFolder, int]  # a task and its sample number
Key = tuple[str, int]  # (task id, sample)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of infra errors and the errors that stop a run, for every executor."""

    retries: int = 2  # an infra_error is retried this many times
    backoff_base_s: float = 2.0  # attempt n waits base**n seconds (2, 4, 8, ...) ...
    backoff_max_s: float = 10.0  # ... at most this long
    stop_errors: tuple[type[BaseException], ...] = (ResqError,)  # end the run after the running evaluations

    def retries_after(self, outcome: Outcome, attempt: int) -> bool:
        return outcome is Outcome.infra_error and attempt <= self.retries

    def backoff_s(self, attempt: int) -> float:
        return min(self.backoff_base_s ** attempt, self.backoff_max_s)

    def wait(self, attempt: int, stop: threading.Event) -> bool:
        """Waits out the backoff after `attempt`; False when the run was interrupted meanwhile."""
        return not stop.wait(self.backoff_s(attempt))

    def stops_run(self, error: BaseException) -> bool:
        return isinstance(error, self.stop_errors)

    def stop_after(self, result: Result) -> ResqError | None:
        """The error that ends the run after this row, when the row says no later task can succeed (the model
        endpoint refused the credentials: `Result.stops_run`); None otherwise."""
        if not result.stops_run:
            return None
        return AuthError(f"{result.task_id}: {result.reason}; the run stopped and started no further task: fix the "
                         "credentials, then run the same command with --redo system_error to resume")

    def is_engine_failure(self, error: BaseException) -> bool:
        return isinstance(error, ENGINE_ERRORS)

    def run(self, attempt_once: Callable[[int], Result], stop: threading.Event) -> Result:
        """One evaluation with its retries, in the calling thread (validate and certify)."""
        attempt, result = 1, attempt_once(1)
        while self.retries_after(result.outcome, attempt) and self.wait(attempt, stop):
            attempt += 1
            result = attempt_once(attempt)
        return result


Block = Callable[[TaskFolder, int, str, str], Result]  # (later part, sample, earlier part, its state) -> its row


@dataclass
class PartGate:
    """Later parts of a challenge wait for their earlier parts (same sample): a part starts once they all passed,
    and gets a `blocked` row (without the system seeing it) as soon as one of them ended otherwise or is not part
    of the run. Blocking is followed through until nothing changes, so a chain listed in any order, whatever part
    fails, leaves exactly one row per part."""

    todo: list[Work]
    outcomes: dict[Key, Outcome] = field(default_factory=dict)  # final outcomes so far (earlier runs included)

    def __post_init__(self) -> None:
        self.waiting = [(tf, sample) for tf, sample in self.todo if earlier_parts(tf)]
        self.scheduled = {tf.task.id for tf, _ in self.todo}

    def first(self) -> list[Work]:
        return [(tf, sample) for tf, sample in self.todo if not earlier_parts(tf)]

    def record(self, result: Result) -> None:
        """The last attempt's outcome of a (task, sample), whatever it is: the parts after it may now move."""
        self.outcomes[(result.task_id, result.sample)] = result.outcome

    def release(self, block: Block) -> tuple[list[Work], list[Result]]:
        """(parts that may start now, rows of parts that are blocked), following blocks until nothing changes."""
        ready: list[Work] = []
        rows: list[Result] = []
        changed = True
        while changed:
            changed = False
            for tf, sample in list(self.waiting):
                blocker = self._blocker(tf, sample)
                if blocker is None and not self._passed_before(tf, sample):
                    continue  # an earlier part is still to come
                self.waiting.remove((tf, sample))
                if blocker is None:
                    ready.append((tf, sample))
                    continue
                row = block(tf, sample, *blocker)
                self.record(row)
                rows.append(row)
                changed = True
        return ready, rows

    def _blocker(self, tf: TaskFolder, sample: int) -> tuple[str, str] | None:
        """(earlier part, its state) of the first earlier part that ended otherwise than passed or is not run."""
        for part in earlier_parts(tf):
            state = self.outcomes.get((part, sample))
            if state is not None and state is not Outcome.passed:
                return part, state.value
        for part in earlier_parts(tf):
            if (part, sample) not in self.outcomes and part not in self.scheduled:
                return part, "not run"
        return None

    def _passed_before(self, tf: TaskFolder, sample: int) -> bool:
        return all(self.outcomes.get((part, sample)) is Outcome.passed for part in earlier_parts(tf))


def earlier_parts(tf: TaskFolder) -> list[str]:
    return tf.task.challenge.after if tf.task.challenge else []


class TaskRunner(Protocol):
    """What an executor needs of the pipeline (pipeline.Pipeline is the one implementation; tests use a fake)."""

    client: docker.DockerClient
    run_id: str
    spec: SystemSpec
    limits: Limits
    paths: RunPaths
    oracle_context: bool
    budget: BudgetGate | None

    def run_within_budget(self, tf: TaskFolder, environment: ImageRef, attempt: int, stop: threading.Event,
                          sample: int = 0) -> Result: ...

    def interrupted(self, tf: TaskFolder, attempt: int, sample: int) -> Result: ...

    def blocked_result(self, tf: TaskFolder, sample: int, earlier: str, outcome: str) -> Result: ...

    def skipped_budget(self, tf: TaskFolder, sample: int, attempt: int, reason: str) -> Result: ...

    def task_image(self, tf: TaskFolder, environment: ImageRef) -> ImageRef: ...

    def abort(self) -> None: ...


@dataclass
class Batch:
    """What an executor is handed: the evaluations still to do and everything needed to run them."""

    pipeline: TaskRunner
    todo: list[Work]
    envs: dict[str, ImageRef]
    earlier: dict[Key, Outcome] = field(default_factory=dict)  # final outcomes of earlier runs of this folder
    policy: RetryPolicy = RetryPolicy()
    jobs: int = 1
    grace_s: float = 20.0  # after an interrupt, how long running evaluations may take before they are killed

    def gate(self) -> PartGate:
        return PartGate(self.todo, dict(self.earlier))


class Executor(Protocol):
    """Runs a batch and hands each row to `record` (which journals it) as it arrives."""

    def run(self, batch: Batch, record: Callable[[Result], None]) -> None: ...

