"""`replay`: hands back recorded patches, read from a RES-Q submission or SWE-bench predictions file.

For a challenge task the recorded entry is the program's source (it is run, not applied)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ResqError
from ..models import SystemOutput, TaskView
from .base import System, Workspace


class ReplaySystem(System):
    name = "replay"

    def __init__(self, file: str = ""):
        if not file:
            raise ResqError("the replay system needs a file of recorded patches: `resq replay SUITE FILE`")
        from ..formats.export import read_patches

        self.file = file
        self.patches = read_patches(Path(file))

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        if task.id not in self.patches:
            return SystemOutput(error=f"no recorded patch for task '{task.id}' in {self.file}")
        if task.kind == "challenge":
            return SystemOutput(program=self.patches[task.id])
        return SystemOutput(patch=self.patches[task.id])
