"""The reference systems: `gold` (the task's own solution) and `noop` (changes nothing)."""

from __future__ import annotations

from ..models import SystemOutput, TaskView
from .base import Workspace


class GoldSystem:
    """Returns the task's gold patch. The runner hands it over; no other system ever receives it."""

    name = "gold"
    needs_gold = True

    def solve(self, task: TaskView, workspace: Workspace, gold_patch: str = "",
              gold_program: str | None = None) -> SystemOutput:
        return SystemOutput(patch=gold_patch, program=gold_program)


class NoopSystem:
    """Returns an empty patch: every valid task must fail under it."""

    name = "noop"

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        return SystemOutput(patch="")
