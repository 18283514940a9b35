"""Run budgets: a projection before the run, and a gate that stops starting tasks once the budget would be spent.

The projection comes from earlier runs of the same system (name and configuration) on the same suite (same suite
hash), found under the run folders' parent folder and ./runs, or from a pilot of a few tasks of this run. The gate
reserves a task's expected spending when the task starts and settles it when the task ends; a task whose start would
take the spent-plus-reserved amount past a budget is not started, and its row says `skipped_budget` (never a
failure; a resumed run picks it up).
"""

from __future__ import annotations

import threading
from pathlib import Path

from .errors import ResqError
from .models import Record, Result, SystemSpec
from .results import RunPaths, read_manifest, read_results


class TaskCost(Record):
    cost_usd: float = 0.0
    tokens: float = 0.0
    wall_s: float = 0.0


class Projection(Record):
    source: str  # "earlier runs" | "pilot"
    runs: list[str] = []
    samples: int = 0  # rows the projection is made from
    tasks: int = 0  # tasks to run
    per_task: TaskCost = TaskCost()
    cost_usd: float = 0.0
    tokens: float = 0.0
    wall_s: float = 0.0  # with the run's -j workers


def spent(result: Result) -> TaskCost:
    return TaskCost(cost_usd=result.usage.cost_usd, tokens=result.usage.prompt_tokens + result.usage.completion_tokens,
                    wall_s=result.timings.total())


def earlier_runs(folders: list[Path], system: SystemSpec, suite_hash: str, exclude: Path | None = None) -> list[Path]:
    """Run folders directly under `folders` (or one level deeper, runs/<date>/<system>) with this system and suite."""
    found = []
    for folder in dict.fromkeys(f.resolve() for f in folders if f.is_dir()):
        for candidate in sorted({*folder.glob("*/run.json"), *folder.glob("*/*/run.json")}):
            root = candidate.parent
            if exclude is not None and root.resolve() == exclude.resolve():
                continue
            try:
                manifest = read_manifest(RunPaths(root))
            except ResqError:
                continue
            if manifest and manifest.system == system and manifest.suite_hash == suite_hash:
                found.append(root)
    return found


def project(rows: list[Result], task_ids: list[str], jobs: int, source: str, runs: list[str]) -> Projection | None:
    """Per task: the mean of its own earlier rows, else the mean over every earlier row."""
    measured = [row for row in rows if row.outcome.is_final]
    if not measured:
        return None
    overall = _mean([spent(row) for row in measured])
    total = TaskCost()
    for task_id in task_ids:
        own = [spent(row) for row in measured if row.task_id == task_id]
        cost = _mean(own) if own else overall
        total = TaskCost(cost_usd=total.cost_usd + cost.cost_usd, tokens=total.tokens + cost.tokens,
                         wall_s=total.wall_s + cost.wall_s)
    return Projection(source=source, runs=runs, samples=len(measured), tasks=len(task_ids), per_task=overall,
                      cost_usd=total.cost_usd, tokens=total.tokens, wall_s=total.wall_s / max(1, jobs))


def _mean(costs: list[TaskCost]) -> TaskCost:
    n = max(1, len(costs))
    return TaskCost(cost_usd=sum(c.cost_usd for c in costs) / n, tokens=sum(c.tokens for c in costs) / n,
                    wall_s=sum(c.wall_s for c in costs) / n)


class BudgetGate:
    """Shared by the run's workers: `admit` before a task starts, `settle` when it ends."""

    def __init__(self, usd: float | None, tokens: int | None, estimate: TaskCost | None = None,
                 already: TaskCost = TaskCost(), only_first: int | None = None):
        self.usd, self.tokens, self.estimate = usd, tokens, estimate
        self.spent, self.reserved = already.model_copy(), TaskCost()
        self.measured: list[TaskCost] = []
        self.only_first, self.admitted = only_first, 0
        self._lock = threading.Lock()

    def admit(self) -> str | None:
        """None to start the task, or why it is skipped."""
        with self._lock:
            if self.only_first is not None and self.admitted >= self.only_first:
                return f"not started: the pilot runs {self.only_first} task(s) first; run again to resume"
            expected = self._expected()
            over = self._over(expected)
            if over:
                return over
            self.reserved = _add(self.reserved, expected)
            self.admitted += 1
            return None

    def settle(self, result: Result) -> None:
        with self._lock:
            actual = spent(result)
            self.reserved = _add(self.reserved, self._expected(), -1)
            self.spent = _add(self.spent, actual)
            self.measured.append(actual)

    def _expected(self) -> TaskCost:
        if self.estimate is not None:
            return self.estimate
        return _mean(self.measured) if self.measured else TaskCost()

    def _over(self, expected: TaskCost) -> str | None:
        if self.usd is not None and self.spent.cost_usd + self.reserved.cost_usd + expected.cost_usd > self.usd:
            return (f"budget: ${self.spent.cost_usd:.4f} spent, ${self.reserved.cost_usd:.4f} reserved by running "
                    f"tasks and about ${expected.cost_usd:.4f} more per task would pass --budget-usd {self.usd:g}")
        if self.tokens is not None and self.spent.tokens + self.reserved.tokens + expected.tokens > self.tokens:
            return (f"budget: {self.spent.tokens:.0f} tokens spent, {self.reserved.tokens:.0f} reserved by running "
                    f"tasks and about {expected.tokens:.0f} more per task would pass --budget-tokens {self.tokens}")
        return None


def _add(a: TaskCost, b: TaskCost, sign: int = 1) -> TaskCost:
    return TaskCost(cost_usd=max(0.0, a.cost_usd + sign * b.cost_usd), tokens=max(0.0, a.tokens + sign * b.tokens),
                    wall_s=max(0.0, a.wall_s + sign * b.wall_s))

