"""The reference systems: `gold` (the task's own solution) and `noop` (changes nothing)."""

from __future__ import annotations

from ..models import SystemOutput, TaskView
from .base import GoldSolution, System, Workspace


class GoldSystem(System):
    """Returns the task's gold patch. The runner hands it over; no other system ever receives it."""

    name = "gold"
    needs_gold = True

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        raise NotImplementedError("gold is only called with the gold solution")

    def solve_with_gold(self, task: TaskView, workspace: Workspace, gold: GoldSolution) -> SystemOutput:
        return SystemOutput(patch=gold.patch, program=gold.program)


class NoopSystem(System):
    """Returns an empty patch: every valid task must fail under it."""

    name = "noop"

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        return SystemOutput(patch="")
